"""simweb: a procedurally generated, deterministic web for offline runs, tests and exploration benchmarks.

Ground truth for reports and benchmarks: :func:`ie_plugins.simweb.world.is_relevant`,
:func:`~ie_plugins.simweb.world.relevant_concepts` and, through the engine, ``SimWebEngine.relevance(query)``.
"""
