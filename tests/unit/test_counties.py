import pytest

from include.ingest.counties import county_names, resolve


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("睢县", "411422"),
        ("睢 县", "411422"),
        ("睢\u3000县", "411422"),
        ("商丘市睢县", "411422"),
        ("示范区", "411499"),
        ("城乡一体化示范区", "411499"),
        ("商丘市城乡一体化示范区", "411499"),
        ("永城市", "411481"),
        ("商丘市", "411400"),
        ("ＮＯ", None),
        ("郑州市", None),
        ("", None),
    ],
)
def test_name_variants_resolve_to_one_county(written, code):
    assert resolve(written) == code


def test_ten_counties_and_the_city():
    names = county_names()
    assert len(names) == 11 and names["411400"] == "商丘市"
