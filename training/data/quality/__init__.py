"""The recording-quality filter (first pipeline stage): label clips, train ExtraTrees, filter a collection.

Modules by role: `features` (mel-band statistics per 5 s segment, FEATURE_VERSION), `sources` (what an
input path names), `clips` (which clips to label), `labels` (the labels CSV), `labelling` (the interactive
loop), `recordings` (which labelled files hold one recording), `classifier` (train, save, load),
`filtering` (score songs, smooth, pass/fail, spans, manifest), `report` (summary table and picture).
Commands: `musegenie data label | train-filter | filter`.
"""
