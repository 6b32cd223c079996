from shout import shout


def hello(name):
    return shout("hello, " + name)
