"""The top of the import graph: the `evote` command and the simulated election
(demo) that wire every part together.

Apart from `evote/`, the shared election model that every part imports, so
that imports only point down: `evote_cli` → `ballot_server`, `terminal`,
`tally`, `firmware_sim` → `evote` → `crypto`.
"""
