"""The fact-check maps: fitting pulls a query towards the fact-check that verifies it, the recipe is
deterministic per seed, artifacts round-trip, and the index refuses a map of the wrong width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from model.claimmap import ClaimMap, fit_map
from model.claims import Claim, ClaimIndex
from moderation.retrieval import average_precision_at
from moderation.scoring import ScorerError

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _task(seed: int = 0) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """Fact-checks in 16 dimensions; each query is its fact-check seen through a distortion that
    swamps one shared direction, so the plain cosine confuses them and a map can undo it."""
    rng = np.random.default_rng(seed)
    docs = rng.normal(size=(60, 16)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    distortion = np.eye(16, dtype=np.float32)
    distortion[:, 0] += 3.0
    queries = (docs @ distortion + 0.1 * rng.normal(size=docs.shape)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return queries, [[i] for i in range(len(docs))], docs


def _map5(queries: np.ndarray, docs: np.ndarray) -> float:
    ranked = np.argsort(-(queries @ docs.T), axis=1)[:, :5]
    return float(np.mean([average_precision_at(r.tolist(), {i}, 5) for i, r in enumerate(ranked)]))


def test_fitting_pulls_queries_to_their_fact_checks() -> None:
    queries, relevant, docs = _task()
    before = _map5(queries, docs)
    *_, (post_weights, claim_weights) = fit_map(queries, relevant, docs, seed=1, epochs=40, lr=1e-2)
    fitted = ClaimMap(post_weights, claim_weights, 0.0)
    after = _map5(fitted.posts(queries), fitted.claims(docs))
    assert before < 0.8 and after > before + 0.1


def test_same_seed_same_map() -> None:
    queries, relevant, docs = _task()
    first = list(fit_map(queries, relevant, docs, seed=3, epochs=3))
    second = list(fit_map(queries, relevant, docs, seed=3, epochs=3))
    assert all(np.array_equal(a, b) for x, y in zip(first, second, strict=True) for a, b in zip(x, y, strict=True))
    other = list(fit_map(queries, relevant, docs, seed=4, epochs=3))
    assert not np.array_equal(first[-1][0], other[-1][0])


def test_artifact_round_trip_and_errors(tmp_path: Path) -> None:
    post, claim = np.eye(8, dtype=np.float32) * 2, np.eye(8, dtype=np.float32) * 3
    ClaimMap(post, claim, 0.2, {"recipe": "test"}).save(tmp_path / "map.npz")
    loaded = ClaimMap.load(tmp_path / "map.npz")
    assert np.array_equal(loaded.post_weights, post) and np.array_equal(loaded.claim_weights, claim)
    assert loaded.blend_weight == 0.2
    assert loaded.version.startswith("claims-map-") and loaded.meta["recipe"] == "test"
    (tmp_path / "broken.npz").write_bytes(b"not an artifact")
    with pytest.raises(ScorerError, match=r"broken\.npz"):
        ClaimMap.load(tmp_path / "broken.npz")
    with pytest.raises(ValueError, match="takes 8-d embeddings; the claims have 4"):
        ClaimIndex([Claim(1, "a claim", "", "", "")], np.ones((1, 4), dtype=np.float32), loaded)


def test_shipped_map_fits_the_embedding() -> None:
    shipped = ClaimMap.load()
    assert shipped.post_weights.shape == shipped.claim_weights.shape == (384, 384)
    assert shipped.meta["recipe"] == "claims-map-recipe-3" and shipped.meta["embedding"] == "all-MiniLM-L6-v2"
    cv = shipped.meta["metrics"]
    assert cv["cross-validated MAP@5"] > cv["cross-validated MAP@5 without the map"]


def _checkthat(root: Path) -> None:
    """A CheckThat!-shaped folder: fact-checks, and training tweets that paraphrase them."""
    folder = root / "clef2020-checkthat-t2-claim-retrieval"
    (folder / "train").mkdir(parents=True)
    topics = [
        ("5G towers spread the coronavirus", "5G and COVID"),
        ("Drinking bleach cures the flu", "Bleach cure"),
        ("The moon landing was filmed in a studio", "Moon hoax"),
        ("Vaccines contain microchips", "Microchip vaccines"),
        ("A shark swam down a flooded highway", "Highway shark"),
        ("The president banned Christmas trees", "Christmas ban"),
        ("Eating carrots lets you see in the dark", "Carrot vision"),
        ("A city replaced its police with robots", "Robot police"),
        ("Bananas are being injected with HIV", "Banana injections"),
        ("A senator was arrested for treason", "Senator arrest"),
    ]
    rows = ["\tvclaim\ttitle"] + [f"{i}\t{claim}\t{title}" for i, (claim, title) in enumerate(topics)]
    (folder / "verified_claims.docs.tsv").write_text("\n".join(rows) + "\n")
    tweets = ["\ttweet_content"] + [
        f"{100 + i}\tHeard that {claim.lower()}!! is it true" for i, (claim, _) in enumerate(topics)
    ]
    (folder / "train" / "tweets.queries.tsv").write_text("\n".join(tweets) + "\n")
    qrels = [f"{100 + i}\t0\t{i}\t1" for i in range(len(topics))]
    (folder / "train" / "tweet-vclaim-pairs.qrels.tsv").write_text("\n".join(qrels) + "\n")


def test_train_command_writes_a_loadable_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODBOT_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("MODBOT_CONFIG", raising=False)
    _checkthat(tmp_path / "data")
    out = tmp_path / "map.npz"
    assert main(["train", "claims", "--data", str(tmp_path / "data"), "--out", str(out), "--seed", "5"]) == 0
    trained = ClaimMap.load(out)
    assert trained.claim_weights.shape == (384, 384) and 1 <= trained.meta["epochs"] <= 20
    assert trained.rerank_weights is not None and trained.meta["re-ranker C"] in (0.1, 1.0, 10.0)
    assert trained.meta["trained on"].startswith("CheckThat! 2020 task 2 train: 10 tweets; 10 fact-checks")
    assert (
        main(["train", "claims", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "again.npz"), "--seed", "5"])
        == 0
    )
    assert ClaimMap.load(tmp_path / "again.npz").version == trained.version


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "clef2020-checkthat-t2-claim-retrieval").is_dir(), reason=f"no datasets at {DATA}")
def test_modbot_train_claims_reproduces_the_shipped_map(tmp_path: Path) -> None:
    """The whole recipe from a fresh embedding cache: the cross-validated figures match the
    shipped map's, and so do the settings chosen, or, where another processor's last float bits
    tip a near-tie the other way, the shipped settings score within 0.002 of the best in this
    run's own selection table. Maps are compared by what they do (embeddings may differ in the
    last bits between machines)."""
    config = tmp_path / "modbot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path / "data"}"\n')
    out = tmp_path / "map.npz"
    assert main(["--config", str(config), "train", "claims", "--data", str(DATA), "--out", str(out)]) == 0
    trained, shipped = ClaimMap.load(out), ClaimMap.load()
    for key, value in shipped.meta["metrics"].items():
        assert trained.meta["metrics"][key] == pytest.approx(value, abs=0.003)
    same_map = (trained.meta["epochs"], trained.blend_weight) == (shipped.meta["epochs"], shipped.blend_weight)
    if same_map:
        # what a map does: where it sends unit vectors (weights differ in their last bits)
        vectors = np.random.default_rng(0).standard_normal((256, trained.width)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for ours, theirs in ((trained.posts, shipped.posts), (trained.claims, shipped.claims)):
            assert (ours(vectors) * theirs(vectors)).sum(axis=1).min() > 0.999  # identity: 0.955
    else:
        table = trained.meta["selection"]
        assert table[f"{shipped.meta['epochs']} epochs, blend {shipped.blend_weight:g}"] >= max(table.values()) - 0.002
    c_table = trained.meta["re-ranker selection"]
    if trained.meta["re-ranker C"] != shipped.meta["re-ranker C"]:
        assert c_table[f"C {shipped.meta['re-ranker C']:g}"] >= max(c_table.values()) - 0.002
    elif same_map:
        assert trained.rerank_weights is not None and shipped.rerank_weights is not None
        # the re-ranker sees word pieces of a fresh encoding: compared by size and direction
        cosine = trained.rerank_weights @ shipped.rerank_weights
        cosine /= np.linalg.norm(trained.rerank_weights) * np.linalg.norm(shipped.rerank_weights)
        assert cosine > 0.999


def test_a_map_for_another_embedding_model_is_refused(tmp_path: Path, store) -> None:  # type: ignore[no-untyped-def]
    from bot.config import Config
    from bot.runtime.scorers import build_scorers

    eye = np.eye(384, dtype=np.float32)
    ClaimMap(eye, eye, 0.3, {"embedding": "some-other-encoder"}).save(tmp_path / "map.npz")
    config = Config.model_validate({"scorers": {"claims": {"enabled": True, "map": str(tmp_path / "map.npz")}}})
    with pytest.raises(ScorerError, match="fitted on some-other-encoder embeddings, but the embedding model is all-"):
        build_scorers(config.scorers, store)
