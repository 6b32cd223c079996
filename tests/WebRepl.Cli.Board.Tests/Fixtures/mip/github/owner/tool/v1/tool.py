from shout import shout


def run():
    return shout("tool")
