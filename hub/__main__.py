from hub.cli import app

app(prog_name="hub")
