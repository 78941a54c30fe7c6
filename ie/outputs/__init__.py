"""What a run produces for people: the per-iteration summary, the HTML report, exports."""
