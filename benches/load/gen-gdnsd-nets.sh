#!/usr/bin/env bash
# Prints the body of a gdnsd geoip `nets => { ... }` map for benches/load/run.sh: every /12
# of the IPv4 unicast space (4096 networks, fixed seed) mapped to one of three datacenters,
# so a steered gdnsd query does a real prefix lookup of the ECS address.
awk 'BEGIN { srand(12); split("us-east eu-west ap-northeast", dc, " ")
  for (a = 1; a < 224; a++) for (b = 0; b < 256; b += 16)
    printf "          %d.%d.0.0/12 => [ %s ]\n", a, b, dc[1 + int(rand() * 3)] }'
