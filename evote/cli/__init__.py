"""The top of the import graph: the `evote` command and the simulated election
(demo) that wire every part together.

A subpackage apart from the rest of `evote/`, the shared election model that
every part imports (importing `evote` never imports this), so that imports
only point down: `evote.cli` → `ballot_server`, `terminal`, `tally`,
`firmware_sim` → `evote` → `crypto`.
"""
