"""clipart: a realistic offline target and search corpus from real clip art.

Source: the Debian package ``openclipart-png`` (about 8,100 PNGs from openclipart.org in category folders such
as ``animals/birds`` or ``food/fruit``; ``scripts/fetch_openclipart.sh`` or ``make setup`` fetches it). Licence:
public domain, Creative Commons Public Domain Dedication (the package's ``copyright`` file).

A preset (``animals``: bird, bug, fish, mammal; ``food``: fruit, dessert, beverage, bread, meat) takes half of each
class folder as the target (train/val/test); the engine searches everything else. Ground truth for reports and
benchmarks: an image is relevant when it lies under the preset's top folder (``animals/`` or ``food/``), see
``ClipartEngine.relevance(query)``, ``is_relevant(path)`` and ``relevant_files()``.
"""
