"""Idempotent fix to Debian's neutron-linuxbridge-agent (Zed, 2:21.0.0).

Why: the agent deletes its ebtables MAC-spoofing rules by specification
(`ebtables -D chain -i tapX --among-src MAC -j RETURN`). With ebtables-nft
(1.8.9), the only ebtables this kernel supports (no legacy ebtables 'nat'
table), that delete fails with "RULE_DELETE failed (Invalid argument)" and
exit code 4, which arp_protect.ebtables() retries forever: the agent hangs the
first time a port is re-processed (agent restart, port update). Deleting the
same rules by position works, so this rewrites _delete_vif_mac_rules to do
that. No configuration avoids it (turning port security off would drop
security groups too); upstream neutron dropped linuxbridge before fixing it.
A package upgrade overwrites the file: devstack re-applies this at every run.
"""
import re
import sys

MARKER = 'berth: delete by position'
NEW = '''def _delete_vif_mac_rules(vif, current_rules):
    # berth: delete by position: ebtables-nft cannot delete '--among-src'
    # rules by specification (RULE_DELETE failed (Invalid argument), exit 4,
    # retried forever); see devstack/aio/lib/neutron_arp_protect_fix.py
    chain = _mac_chain_name(vif)
    in_chain = False
    pos = 0
    positions = []
    for rule in current_rules:
        if rule.startswith('Bridge chain: '):
            in_chain = rule.startswith('Bridge chain: %s,' % chain)
            pos = 0
            continue
        if in_chain and rule.startswith('-'):
            pos += 1
            if '-i %s' % vif in rule and '--among-src' in rule:
                positions.append(pos)
    for p in reversed(positions):
        ebtables(['-D', chain, str(p)])


'''
path = sys.argv[1]
src = open(path).read()
if MARKER in src:
    print('already patched:', path)
    sys.exit(0)
pattern = re.compile(r'def _delete_vif_mac_rules\(vif, current_rules\):\n(?:    .*\n|\n)*?(?=def )')
patched, n = pattern.subn(NEW, src, count=1)
if n != 1:
    sys.exit('cannot find _delete_vif_mac_rules in %s: neutron changed, re-check the fix' % path)
open(path, 'w').write(patched)
print('patched:', path)
