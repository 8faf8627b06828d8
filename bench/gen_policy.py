#!/usr/bin/env python3
"""Generates a large Route policy of host + path routing rules, as a big site's gateway
would have: N rules over U upstreams, with a few regex redirects and ACL checks mixed in.

Its peers are loopback addresses where nothing listens (127.X.Y.1 and .2): a benchmark that
serves it connects nowhere off this machine, and a routed request meets a dead peer.

usage: gen_policy.py RULES [UPSTREAMS] > policy.route
"""
import sys

rules = int(sys.argv[1])
upstreams = int(sys.argv[2]) if len(sys.argv) > 2 else max(1, min(100, rules // 10))

out = []
for u in range(upstreams):
    out.append(f'upstream u{u} {{\n    servers = ["127.{u // 250 + 1}.{u % 250}.1:8080", '
               f'"127.{u // 250 + 1}.{u % 250}.2:8080" weight 2]\n    retries = 1\n}}\n')
out.append("acl internal { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, ::1/128 }\n")
out.append("on request {\n")
routed = 0
for i in range(rules):
    host = f"site{i % 997}.example.com"
    if i % 50 == 7:
        out.append(f'    if req.host == "{host}" and req.path ~ r"^/old{i}/(?P<rest>.*)$" {{\n'
                   f'        redirect 301 "https://{host}/new{i}/" + match.rest\n    }}\n')
    elif i % 50 == 13:
        out.append(f'    if req.host == "{host}" and req.path starts_with "/admin{i}/" and '
                   f'not (client.ip in internal) {{\n        respond 403 "forbidden\\n"\n    }}\n')
    else:
        out.append(f'    if req.host == "{host}" and req.path starts_with "/p{i}/" {{\n'
                   f'        route u{routed % upstreams}\n    }}\n')
        routed += 1
out.append("    respond 404 \"no route\\n\"\n}\n")
out.append('on response {\n    resp.header["x-served-by"] = "turnout"\n}\n')
sys.stdout.write("".join(out))
