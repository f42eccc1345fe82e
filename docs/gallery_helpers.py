"""Helpers the Sphinx configuration names by string (so that it stays picklable)."""


def small_run(gallery_conf, script_vars):
    """Command-line arguments for every gallery script: its small, fast variant."""
    return ["--small"]
