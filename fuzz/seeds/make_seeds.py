#!/usr/bin/env python3
"""Writes the seed corpora in this folder (run from it). Seeds are small valid inputs the
fuzzers mutate; the committed files are what this script writes."""
import os, struct

def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def opt(size=1232, version=0, options=b"", flags=0x8000):
    # flags: DO (0x8000) by default; 0xC000 adds CO (RFC 9824 compact answers).
    return b"\0" + struct.pack(">HHBBHH", 41, size, 0, version, flags, len(options)) + options

def ecs(family, prefix, addr):
    body = struct.pack(">HBB", family, prefix, 0) + addr
    return struct.pack(">HH", 8, len(body)) + body

def query(qname, qtype=1, qclass=1, edns=None, flags=0x0100, qid=0x1234):
    ar = 1 if edns is not None else 0
    p = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, ar) + name(qname) + struct.pack(">HH", qtype, qclass)
    return p + (edns or b"")

def write(folder, items):
    os.makedirs(folder, exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(folder, "seed-%02d" % i), "wb") as f:
            f.write(data)

Z = "gslb.example.test."
queries = [
    query("www." + Z),
    query("www." + Z, 28, edns=opt()),
    query("www." + Z, edns=opt(options=ecs(1, 24, bytes([81, 2, 69])))),
    query("www." + Z, 28, edns=opt(options=ecs(2, 56, bytes([0x2a, 0x02, 0x06, 0xb8, 0, 0, 0])))),
    query("api." + Z, edns=opt(512, options=b"\0\x03\0\0")),
    query(Z, 255, edns=opt()),
    query(Z, 2),
    query(Z, 15, edns=opt(512)),
    query(Z, 6),
    query("big." + Z, 16),
    query("big." + Z, 16, edns=opt(1232)),
    query("alias." + Z, 1),
    query("x.wild." + Z, 16),
    query("_sip._tcp." + Z, 33),
    query("nope." + Z, 1, edns=opt(4096, 1)),
    query("_explain.www." + Z, 16),
    query("id.server.", 16, 3),
    query(Z, 252),
    query("example.org.", 1),
    # DNSSEC: the zone's keys, NXDOMAIN with CO, DS at the apex, the NXNAME meta-type,
    # NODATA at a steered name, a wildcard, without DO.
    query(Z, 48, edns=opt()),
    query("nope." + Z, 1, edns=opt(flags=0xC000)),
    query(Z, 43, edns=opt()),
    query("www." + Z, 128, edns=opt()),
    query("www." + Z, 16, edns=opt(512)),
    query("a.wild." + Z, 1, edns=opt(flags=0x4000)),
]
write("query", [b"\x04" + q for q in queries] + [b"\x01" + queries[9]])
write("wire", queries + [ecs(1, 24, bytes([81, 2, 69]))[4:], ecs(2, 0, b"")[4:]])
write("tiers", [b"eu-west, eu-canary > us-east", b"a", b"country:KR", b"continent:EU",
                b"subdivision:US-CA", b"net:10.0.0.0/8", b"net:2001:db8::/32", b"default"])
zone = open("../../zones/gslb.example.test.toml", "rb").read()
main = open("../../steerdns.toml", "rb").read().replace(b"geoip/geo-whois-asn-country.mmdb", b"geo.mmdb")
write("config", [zone, b'origin = "a.test."\n[soa]\nmname = "ns.a.test."\nrname = "h.a.test."\n'
                 b'[[record]]\nname = "@"\ntype = "A"\ndata = ["127.0.0.1"]\n', b"#main\n" + main])
