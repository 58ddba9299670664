"""`evidence witness ...`: the witness service an outside body runs (c2sp.org/tlog-witness)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_text import console, inert
from api.witness_home import WitnessHome, init_witness

witness_app = typer.Typer(help="A witness that cosigns other logs' checkpoints (run by an "
                          "outside body).", no_args_is_help=True)
out = console()
HomeOption = Annotated[Path, typer.Option("--home", help="The witness's own folder.")]
DEFAULT_HOME = Path("./witness-data")


@witness_app.command("init")
def init(name: Annotated[str, typer.Option(help="The witness's key name, e.g. "
                                           "supervision.example.gov.cn/witness-1.")],
         home: HomeOption = DEFAULT_HOME) -> None:
    """Create the witness's folder and its cosigning key; prints the key to publish."""
    made = init_witness(home, name)
    out.print(inert(f"witness home {made.root}"))
    out.print(inert(f"  witness key {made.cosigner().key.vkey()}"))


@witness_app.command("key")
def key(home: HomeOption = DEFAULT_HOME) -> None:
    """Print the witness's public key (vkey, cosignature/v1)."""
    out.print(inert(WitnessHome(home.resolve()).cosigner().key.vkey()))


@witness_app.command("add-log")
def add_log(vkey: Annotated[str, typer.Argument(help="The log's verifier key "
                                                "(`evidence log key` at the log).")],
            home: HomeOption = DEFAULT_HOME) -> None:
    """Witness one more log, named by its verifier key (its name is the log's origin)."""
    origin = WitnessHome(home.resolve()).add_log(vkey)
    out.print(inert(f"witnessing {origin}"))


@witness_app.command("refusals")
def refusals(home: HomeOption = DEFAULT_HOME,
             database_url: Annotated[str | None, typer.Option(help="default: witness.db")] = None,
             ) -> None:
    """List the signed requests refused: evidence of a fork or a rollback."""
    witness_home = WitnessHome(home.resolve())
    engine = witness_home.engine(database_url)
    try:
        for refusal in witness_home.witness(engine).refusals():
            out.print(inert(f"{refusal.received_at.isoformat()}  {refusal.origin}  "
                            f"{refusal.status}  {refusal.reason} (it had cosigned "
                            f"{refusal.known_size})"))
    finally:
        engine.dispose()


@witness_app.command("serve")
def serve(home: HomeOption = DEFAULT_HOME,
          host: Annotated[str, typer.Option()] = "127.0.0.1",
          port: Annotated[int, typer.Option()] = 7380,
          database_url: Annotated[str | None, typer.Option(help="default: witness.db")] = None,
          ) -> None:
    """Serve POST /add-checkpoint (and GET /checkpoint?origin=) for the logs witnessed."""
    import uvicorn

    from api.witness_http import witness_app as make_app

    witness_home = WitnessHome(home.resolve())
    engine = witness_home.engine(database_url)
    try:
        uvicorn.run(make_app(witness_home.witness(engine)), host=host, port=port,
                    log_level="info", server_header=False)
    finally:
        engine.dispose()
