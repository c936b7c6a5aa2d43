from hub.cli import app

if __name__ == "__main__":  # a guard: spawned processes may import this module
    app(prog_name="hub")
