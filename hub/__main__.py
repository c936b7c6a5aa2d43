from hub.cli import run

if __name__ == "__main__":  # a guard: spawned processes may import this module
    run()
