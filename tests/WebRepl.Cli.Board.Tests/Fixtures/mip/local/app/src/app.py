from greet import hello


def main():
    return hello("app")
