"""A local copy of the exchange's bulk-data archive for the download tests: zip files in the
archive's exact layout (paths, 12-column kline CSVs with a header, funding CSVs, .CHECKSUM files
holding ``<sha256>  <name>``), built from the bundled 2024 sample, served over HTTP on localhost.
The server can drop a connection half-way through a file to imitate an interrupted download."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path
from typing import List, Set

import numpy as np
import pandas as pd
import perpsim

KLINE_HEADER = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
]


def _zip(root: Path, rel: str, csv: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(Path(rel).with_suffix(".csv").name, csv)
    data = buf.getvalue()
    path.write_bytes(data)
    (root / (rel + ".CHECKSUM")).write_text(f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


def kline_csv(bars: pd.DataFrame, volume: bool = True) -> str:
    ms = bars.index.as_unit("ns").asi8 // 1_000_000
    step = 3_600_000
    v = bars["volume"].to_numpy() if volume else np.zeros(len(bars))
    df = pd.DataFrame(
        {
            "open_time": ms,
            "open": bars["open"].to_numpy(),
            "high": bars["high"].to_numpy(),
            "low": bars["low"].to_numpy(),
            "close": bars["close"].to_numpy(),
            "volume": v,
            "close_time": ms + step - 1,
            "quote_volume": v * bars["close"].to_numpy(),
            "count": 100,
            "taker_buy_volume": v / 2,
            "taker_buy_quote_volume": v * bars["close"].to_numpy() / 2,
            "ignore": 0,
        }
    )
    return df.to_csv(index=False, header=KLINE_HEADER)


def funding_csv(rates: pd.Series) -> str:
    ms = rates.index.as_unit("ns").asi8 // 1_000_000 + 3  # the archive's few ms of jitter
    return pd.DataFrame({"calc_time": ms, "funding_interval_hours": 8, "last_funding_rate": rates.to_numpy()}).to_csv(
        index=False
    )


def build(root: Path, months: List[str], daily_months: List[str] = ()) -> None:
    """Monthly kline, mark-kline and funding files for ``months``; daily files only for
    ``daily_months`` (a month whose monthly file is not published yet)."""
    bars = perpsim.data.sample("BTCUSDT", "1h")
    rates = perpsim.data.sample_funding("BTCUSDT")
    base = "data/futures/um"
    for m in months:
        sel = bars[bars.index.strftime("%Y-%m") == m]
        _zip(root, f"{base}/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-{m}.zip", kline_csv(sel))
        _zip(root, f"{base}/monthly/markPriceKlines/BTCUSDT/1h/BTCUSDT-1h-{m}.zip", kline_csv(sel, volume=False))
        fr = rates[rates.index.strftime("%Y-%m") == m]
        _zip(root, f"{base}/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-{m}.zip", funding_csv(fr))
    for m in daily_months:
        sel = bars[bars.index.strftime("%Y-%m") == m]
        for day, g in sel.groupby(sel.index.strftime("%Y-%m-%d")):
            _zip(root, f"{base}/daily/klines/BTCUSDT/1h/BTCUSDT-1h-{day}.zip", kline_csv(g))


class Archive:
    """The server: ``url``, ``requests`` (paths asked, in order), ``break_once`` (paths whose next
    download stops half-way)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: List[str] = []
        self.break_once: Set[str] = set()
        archive = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=str(root), **k)

            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                rel = self.path.lstrip("/")
                archive.requests.append(rel)
                if rel in archive.break_once:
                    archive.break_once.discard(rel)
                    data = (root / rel).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                super().do_GET()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
