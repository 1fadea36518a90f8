"""The one walker of the files an edit names, and what an asset id is."""

from __future__ import annotations

from typing import Any

from reelforge.edit.references import Reference, asset_ids_in, asset_references, is_asset_id
from reelforge.edit.validate import parse_edit

ID = "ast_01jd0000000000000000000000"


def every_place() -> dict[str, Any]:
    """An edit naming a file in every place the language allows one."""
    return {
        "timeline": {
            "soundtrack": {"src": "music.mp3"},
            "fonts": ["brand.otf"],
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "video", "src": "a.mp4"}, "effects": {"lut": "warm.cube"}},
                        {"asset": {"type": "image", "src": "b.png"}, "length": 1},
                        {"asset": {"type": "audio", "src": "voice.wav"}},
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {"type": "text", "text": "Hi", "style": {"font": "Title.TTF"}},
                            "length": 1,
                        },
                        {"asset": {"type": "caption", "src": "subs.srt"}, "length": 1},
                        {
                            "asset": {"type": "text", "text": "family", "style": {"font": "serif"}},
                            "length": 1,
                        },
                    ]
                },
            ],
        },
        "outputs": [{"watermark": {"src": "logo.png"}}],
    }


EXPECTED = [
    Reference("/timeline/tracks/0/clips/0/asset/src", "a.mp4", "video"),
    Reference("/timeline/tracks/0/clips/0/effects/lut", "warm.cube", "lut"),
    Reference("/timeline/tracks/0/clips/1/asset/src", "b.png", "image"),
    Reference("/timeline/tracks/0/clips/2/asset/src", "voice.wav", "audio"),
    Reference("/timeline/tracks/1/clips/0/asset/style/font", "Title.TTF", "font"),
    Reference("/timeline/tracks/1/clips/1/asset/src", "subs.srt", "captions"),
    Reference("/timeline/soundtrack/src", "music.mp3", "audio"),
    Reference("/timeline/fonts/0", "brand.otf", "font"),
    Reference("/outputs/0/watermark/src", "logo.png", "image"),
]


def test_every_place_a_file_can_be_named_is_found_in_document_order() -> None:
    assert asset_references(every_place()) == EXPECTED


def test_a_parsed_edit_and_its_document_name_the_same_files() -> None:
    assert asset_references(parse_edit(every_place())) == asset_references(every_place())


def test_a_document_of_any_shape_is_walked_without_failing() -> None:
    broken: Any = {
        "timeline": {
            "tracks": [
                None,
                {"clips": "x"},
                {"clips": [1, {"asset": ["video"]}, {"asset": {"type": ["video"]}}]},
            ],
            "soundtrack": "music.mp3",
            "fonts": [3, "", "ok.ttf"],
        },
        "outputs": {"watermark": {"src": "logo.png"}},
    }
    assert asset_references(broken) == [Reference("/timeline/fonts/2", "ok.ttf", "font")]
    assert asset_references(None) == [] and asset_references([every_place()]) == []


def test_an_asset_id_is_exactly_the_prefix_and_a_lower_case_ulid() -> None:
    assert is_asset_id(ID)
    for other in (ID.upper(), ID + "0", ID[:-1], f" {ID}", f"see {ID}", "ast_", None, 7):
        assert not is_asset_id(other), other


def test_ids_anywhere_in_a_document_count_but_mentions_do_not() -> None:
    other = "ast_01jd0000000000000000000001"
    document = {"timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": ID}}]}]}}
    document["variables"] = {"logo": other, "note": f"uses {ID}"}
    assert asset_ids_in(document) == {ID, other}
