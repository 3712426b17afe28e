from transforms.common.quarantine import Quarantine
from transforms.survey import tranco


def test_csv_and_plain_lists_with_provenance(tmp_path):
    csv = tmp_path / "tranco_X5Y2K.csv"
    csv.write_text("1,google.com\n2,yahoo.co.jp\n3,not a domain\n4,Example.JP.\n5,google.com\n")
    quarantine = Quarantine("tranco")
    listing = tranco.load(str(csv), quarantine)
    assert listing.sites.to_dict("records") == [
        {"rank": 1, "domain": "google.com"}, {"rank": 2, "domain": "yahoo.co.jp"}, {"rank": 4, "domain": "example.jp"}]
    assert listing.list_id == "X5Y2K" and len(listing.sha256) == 64
    assert sorted(quarantine.counts()) == ["duplicate domain", "not a domain name"]
    plain = tmp_path / "list.txt"
    plain.write_text("a.com\nb.jp\n")
    assert tranco.load(plain.as_uri()).sites["rank"].tolist() == [1, 2]
    fixture = tmp_path / "tranco_fixture.csv"
    fixture.write_text("1,a.com\n")
    assert tranco.load(str(fixture)).list_id == ""  # a word, not a list id


def test_selection_follows_the_paper(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("\n".join(f"{i},{'s%d.jp' % i if i % 3 == 0 else 's%d.com' % i}" for i in range(1, 31)))
    chosen = tranco.select(tranco.load(str(path)), top_n=0, jp_within_top=12, other_top=5)
    assert chosen[chosen.group == "jp"]["rank"].tolist() == [3, 6, 9, 12]
    assert chosen[chosen.group == "other"]["rank"].tolist() == [1, 2, 4, 5, 7]
    batches = tranco.batches(chosen, 4)
    assert [len(b) for b in batches] == [4, 4, 1] and batches[0][0] == {"rank": 1, "domain": "s1.com", "group": "other"}


# -- tranco-list.eu URL forms, archives, unreadable lists (issue 13) ------------------------------
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CSV = b"1,google.com\r\n2,yahoo.co.jp\r\n3,example.org\r\n"


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def tranco_site(monkeypatch):
    """A loopback stand-in for tranco-list.eu's download endpoints."""
    routes = {"/top-1m-id": b"Q7N4W\n", "/download/Q7N4W/1000000": CSV, "/download/K2V8X/1000": CSV,
              "/top-1m.csv.zip": _zip("top-1m.csv", CSV), "/list/K2V8X/1000": b"<html>list page</html>"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"not found")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("TRACKSCOPE_TRANCO_BASE_URL", base)
    yield base
    server.shutdown()
    server.server_close()


def test_tranco_url_forms_record_the_list_id(tranco_site):
    base = tranco_site
    for source, list_id in [(f"{base}/download/K2V8X/1000", "K2V8X"), (f"{base}/list/K2V8X/1000", "K2V8X"),
                            ("latest", "Q7N4W"), ("tranco:latest", "Q7N4W"), ("tranco:Q7N4W", "Q7N4W"),
                            (f"{base}/top-1m.csv.zip", "Q7N4W")]:
        listing = tranco.load(source)
        assert listing.list_id == list_id, source
        assert listing.sites["domain"].tolist() == ["google.com", "yahoo.co.jp", "example.org"], source


def test_zipped_list_file_loads_with_its_id(tmp_path):
    path = tmp_path / "tranco_LJ494-1m.csv.zip"
    path.write_bytes(_zip("tranco_LJ494-1m.csv", CSV))
    listing = tranco.load(str(path))
    assert listing.list_id == "LJ494" and len(listing.sites) == 3
    assert listing.sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()  # the file as downloaded


def test_unreadable_lists_are_errors_not_empty_crawls(tmp_path, tranco_site):
    broken = tmp_path / "tranco_LJ494-1m.csv.zip"
    broken.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 20)
    with pytest.raises(tranco.UnreadableList, match="zip"):
        tranco.load(str(broken))
    binary = tmp_path / "tranco_AB12C.csv"
    binary.write_bytes(bytes(range(1, 256)) * 40)
    quarantine = Quarantine("tranco")
    with pytest.raises(tranco.UnreadableList, match="Tranco list"):
        tranco.load(str(binary), quarantine)
    assert len(quarantine) > 0  # the bad lines are still quarantined with their reason
    with pytest.raises(tranco.UnreadableList):
        tranco.load(f"{tranco_site}/download/ZZZZZ/1000")  # 404
    with pytest.raises(tranco.UnreadableList):
        tranco.load(str(tmp_path / "missing.csv"))
    html = tmp_path / "page.html"
    html.write_text("<html>\n<body>\nnot a list\n</body>\n</html>\n")
    with pytest.raises(tranco.UnreadableList):
        tranco.load(str(html))
