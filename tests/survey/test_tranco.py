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
