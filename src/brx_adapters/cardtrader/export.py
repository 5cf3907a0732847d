"""The product export: one download into a spooled file, then decoded a slice at a time.

A 250k-product export is ~150 MB of JSON; `json.loads` of it plus the bytes would need several
times that. Here only the bytes (on disk past `SPOOL_IN_MEMORY`) and one slice of about
`READ_CHUNK` (a couple of thousand products) are held.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import IO, Any

import httpx
import orjson

from brx_adapters.cardtrader.codec import UnexpectedAnswer, product_from
from brx_adapters.cardtrader.transport import Channel
from brx_domain.sync import RemoteProduct

SPOOL_IN_MEMORY = 16 * 1024 * 1024
# How often a download in progress is reported (`on_download`), after a first report as soon as
# its first bytes arrive: a saved progress a few milliseconds each, against a progress that
# must move at least every 2 s (a 600 MB export downloads for several seconds).
DOWNLOAD_REPORT_SECONDS = 0.5
READ_CHUNK = 1024 * 1024
# Products converted between two chances for other tasks to run: the chunk being written
# waits that long for each of its database round trips, so keep it short (~1 ms).
YIELD_EVERY = 100
_CUT_ATTEMPTS = 4  # `},{` candidates tried (nested arrays of objects) before one by one
_WS = " \t\r\n"
# 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float. Found by
# mapping every digit to 0 (bytes.translate, ~5 ms a MB; a regex took 60-140 ms)
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 46 for b in range(256))
_LONG_DIGITS = b"0" * 19


class ArrayReader:
    """Decodes the elements of a JSON array from a binary file without loading all of it.

    Whole elements already in the buffer are decoded in one call per slice (the per-element
    Python overhead was a third of the decoding); an element crossing the end of the buffer is
    decoded on its own once more bytes are read. A slice is decoded by orjson (about 3x
    quicker) unless it holds a run of 19 digits (orjson reads integers beyond 64 bits as
    floats) or orjson refuses it (NaN, lone surrogates, ...): those slices go to `json.loads`,
    so the values are always exactly what `json.loads` gives. Memory: one slice, ~`chunk`.
    """

    def __init__(self, stream: IO[bytes], chunk: int = READ_CHUNK) -> None:
        self._stream, self._chunk = stream, chunk
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buf, self._pos, self._eof = "", 0, False
        self._slices_work = True  # until a slice of this buffer fails: then one by one
        self.bytes_read = 0

    @property
    def bytes_consumed(self) -> int:
        """Roughly how far decoding has got (characters left in the buffer ~ bytes)."""
        return max(0, self.bytes_read - (len(self._buf) - self._pos))

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Any]]:
        """The elements in order, in lists of those that were whole in the buffer."""
        if self._next_char() != "[":
            raise UnexpectedAnswer("CardTrader's export is not a JSON array")
        self._pos += 1
        if self._next_char() == "]":
            return
        while True:
            yield self._whole_elements() or [self._element()]
            separator = self._next_char()
            self._pos += 1
            if separator == "]":
                return
            if separator != ",":
                raise UnexpectedAnswer("CardTrader's export is not a well-formed JSON array")

    def _whole_elements(self) -> list[Any]:
        """Every element up to the last `}`,`{` boundary in the buffer that parses as an
        array's end.

        A boundary inside a string or a nested array can never close the array we build around
        the slice (the parser would still be in the string or the nested value), so a slice
        that parses holds exactly whole top-level elements. [] when no boundary works; then
        the rest of this buffer is read one element at a time (never rescanned per element).
        """
        buf, start = self._buf, self._pos
        cut = len(buf)
        for _ in range(_CUT_ATTEMPTS if self._slices_work else 0):
            cut = _last_boundary(buf, start, cut)
            if cut < 0:
                break
            try:
                batch = _loads("[" + buf[start : cut + 1] + "]")
            except ValueError:
                continue
            self._pos = cut + 1
            return batch if isinstance(batch, list) else []
        self._slices_work = False
        return []

    def _element(self) -> Any:
        self._next_char()
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise UnexpectedAnswer("CardTrader's export ends in the middle") from exc
                self._fill()
                continue
            if end == len(self._buf) and not self._eof:
                self._fill()  # a number might continue in the next chunk: decode again
                continue
            self._pos = end
            return value

    def _next_char(self) -> str:
        """The next non-blank character (not consumed); '' at the end of the file."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WS:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if self._eof:
                return ""
            self._fill()

    def _fill(self) -> None:
        data = self._stream.read(self._chunk)
        self.bytes_read += len(data)
        self._eof = not data
        self._buf = self._buf[self._pos :] + self._utf8.decode(data, final=self._eof)
        self._pos, self._slices_work = 0, True


def _loads(text: str) -> Any:
    """`json.loads`, quicker: orjson whenever it is certain to give the same values."""
    data = text.encode("utf-8", "surrogatepass")
    if _LONG_DIGITS not in data.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _last_boundary(buf: str, start: int, end: int) -> int:
    """Index of the `}` of the last `}` `,` `{` (blanks allowed between) in buf[start:end]."""
    brace = buf.rfind("{", start, end)
    while brace > start:
        before = _skip_blanks_back(buf, brace - 1, start)
        if buf[before] == ",":
            close = _skip_blanks_back(buf, before - 1, start)
            if buf[close] == "}":
                return close
        brace = buf.rfind("{", start, brace)
    return -1


def _skip_blanks_back(buf: str, index: int, start: int) -> int:
    while index > start and buf[index] in _WS:
        index -= 1
    return index


class StreamedExport:
    """`ProductExport` over the downloaded body; iterate once. `expected_total` is estimated
    from the bytes decoded so far and becomes exact at the end."""

    def __init__(self, body: IO[bytes], size: int) -> None:
        self._body, self.size = body, size
        self.expected_total: int | None = None

    def check_is_array(self) -> None:
        """An HTML page or an error object with status 200 must not pass for an empty stock."""
        head = self._body.read(64).lstrip()
        self._body.seek(0)
        if not head.startswith(b"["):
            self._body.close()
            raise UnexpectedAnswer("CardTrader's export answer is not a JSON array")

    def __aiter__(self) -> AsyncIterator[RemoteProduct]:
        return self._products()

    async def _products(self) -> AsyncIterator[RemoteProduct]:
        reader = ArrayReader(self._body)
        count = 0
        try:
            for batch in reader.batches():
                self.expected_total = max(
                    count + len(batch),
                    (count + len(batch)) * self.size // max(1, reader.bytes_consumed),
                )
                for raw in batch:
                    count += 1
                    if count % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                    yield product_from(raw)
            self.expected_total = count
        finally:
            self._body.close()


async def download_export(
    channel: Channel,
    params: dict[str, int],
    http_timeout: httpx.Timeout,
    *,
    on_download: Callable[[int], Awaitable[None]] | None = None,
) -> StreamedExport:
    """GET /products/export, retried as a whole if the connection drops mid-body; the bytes
    received so far go to `on_download` when the first arrive, every DOWNLOAD_REPORT_SECONDS
    and at the end (a retried download starts again from 0: the caller keeps the largest)."""
    holder: list[StreamedExport] = []

    async def exchange() -> httpx.Response:
        request = channel.request("GET", "/products/export", params=params, timeout=http_timeout)
        response = await channel.http.send(request, stream=True)
        try:
            if response.is_success:
                holder[:] = [await _spool(response, on_download)]
            else:
                await response.aread()
        finally:
            await response.aclose()
        return response

    def parse(response: httpx.Response) -> StreamedExport:
        holder[0].check_is_array()
        return holder[0]

    return await channel.call("/products/export", "/products/export", exchange, parse)


async def _spool(
    response: httpx.Response, on_download: Callable[[int], Awaitable[None]] | None
) -> StreamedExport:
    # Not a `with` block: the export owns the file and closes it once read.
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    reported: float | None = None  # the first bytes are reported at once
    try:
        async for chunk in response.aiter_bytes():
            body.write(chunk)
            size += len(chunk)
            if on_download is not None and (
                reported is None or time.monotonic() - reported >= DOWNLOAD_REPORT_SECONDS
            ):
                await on_download(size)
                reported = time.monotonic()
        if on_download is not None:
            await on_download(size)
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return StreamedExport(body, size)
