"""Multi-omics neural network with late integration (MOLI-style), optional ``torch`` extra.

Each omics layer (expression, mutation, copy number...) has its own encoder (linear -> ReLU ->
dropout); the layer embeddings are concatenated with an embedding of the drug features
(fingerprints, targets) and a small head predicts the residual of the response after the
training fold's ``mu + drug effect`` (as :class:`~oncoresist.predict.GlobalLightGBM`). Inputs
are standardised with training statistics inside :meth:`fit`; missing omics values get the
training mean. ``torch`` is imported only when the model is fitted.

Sharma, Rampasek et al. "MOLI: multi-omics late integration with deep neural networks for drug
response prediction", Bioinformatics 2019 (the method; this is an independent implementation
for regression over many drugs).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError
from ._design import DRUG, check_design, drug_feature_columns, sample_feature_columns
from ._models import MeanEffects, ResponseModel, _y, register_model

__all__ = ["MultiOmicsNet"]


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError(
            "MultiOmicsNet needs PyTorch: pip install 'oncoresist[nn]' (torch>=2.4)"
        ) from exc
    return torch


def _build(torch: Any, sizes: list[int], n_drug: int, hidden: int, drop: float) -> Any:
    nn = torch.nn

    class Net(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoders = nn.ModuleList(
                [nn.Sequential(nn.Linear(p, hidden), nn.ReLU(), nn.Dropout(drop)) for p in sizes]
            )
            self.drug = nn.Sequential(nn.Linear(n_drug, hidden), nn.ReLU()) if n_drug else None
            width = hidden * (len(sizes) + (1 if n_drug else 0))
            self.head = nn.Sequential(
                nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(drop), nn.Linear(hidden, 1)
            )

        def forward(self, blocks: list[Any], drug: Any) -> Any:
            parts = [enc(b) for enc, b in zip(self.encoders, blocks, strict=True)]
            if self.drug is not None:
                parts.append(self.drug(drug))
            return self.head(torch.cat(parts, dim=1)).squeeze(1)

    return Net()


@register_model
class MultiOmicsNet(ResponseModel):
    """Late-integration multi-omics network over (omics, drug features) -> response.

    Parameters
    ----------
    hidden
        Width of each layer encoder, the drug encoder and the head.
    dropout, weight_decay, learning_rate, epochs, batch_size
        Training settings (Adam, MSE on the standardised residual).
    n_threads
        Torch CPU threads used during fit/predict (restored afterwards).

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame
    >>> panel, _ = make_response_panel(n_samples=60, n_drugs=2, rng=0)
    >>> X, y = pair_frame(panel)
    >>> MultiOmicsNet(epochs=2).fit(X, y).predict(X).shape == y.shape  # doctest: +SKIP
    True
    """

    name = "multiomics_nn"
    predicts_unseen_drugs = True

    def __init__(
        self,
        hidden: int = 64,
        *,
        dropout: float = 0.3,
        weight_decay: float = 1e-4,
        learning_rate: float = 1e-3,
        epochs: int = 30,
        batch_size: int = 256,
        n_threads: int = 1,
        random_state: int | None = 0,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.random_state = random_state

    def _blocks(self, X: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:
        F = X[list(self.feature_names_in_)].to_numpy(dtype=np.float32)
        F = np.where(np.isnan(F), self.mean_, F)
        F = (F - self.mean_) / self.scale_
        blocks = [F[:, sl] for sl in self.slices_]
        D = (
            X[list(self.drug_features_)].to_numpy(dtype=np.float32)
            if self.drug_features_
            else np.zeros((len(X), 0), np.float32)
        )
        return blocks, D

    def _offset(self, X: pd.DataFrame) -> np.ndarray:
        eff = X[DRUG].map(self.offset_model_.drug_effects_).fillna(0.0)
        return self.offset_model_.mean_ + eff.to_numpy(dtype=float)

    def fit(self, X: pd.DataFrame, y: Any) -> MultiOmicsNet:
        """Train the network on the residual of ``mu + drug effect``."""
        torch = _torch()
        check_design(X)
        yy = _y(y)
        cols = sample_feature_columns(X)
        if not cols:
            raise InputError("X has no omics feature columns ('<layer>:<gene>'); see pair_frame")
        layers = list(dict.fromkeys(c.split(":", 1)[0] for c in cols))
        cols = [c for lay in layers for c in cols if c.split(":", 1)[0] == lay]
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        self.layers_ = layers
        bounds = np.cumsum([0] + [sum(c.split(":", 1)[0] == lay for c in cols) for lay in layers])
        self.slices_ = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
        self.drug_features_ = drug_feature_columns(X)
        F = X[cols].to_numpy(dtype=np.float32)
        self.mean_ = np.nan_to_num(np.nanmean(F, axis=0)).astype(np.float32)
        sd = np.nan_to_num(np.nanstd(F, axis=0)).astype(np.float32)
        self.scale_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
        self.offset_model_ = MeanEffects().fit(X, yy)
        resid = yy - self._offset(X)
        self.y_scale_ = float(resid.std()) or 1.0
        target = (resid / self.y_scale_).astype(np.float32)
        blocks, D = self._blocks(X)
        old = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            torch.manual_seed(int(self.random_state or 0))
            net = _build(torch, [b.shape[1] for b in blocks], D.shape[1], self.hidden, self.dropout)
            opt = torch.optim.Adam(
                net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            tb = [torch.from_numpy(np.ascontiguousarray(b)) for b in blocks]
            td, tt = torch.from_numpy(D), torch.from_numpy(target)
            n = len(tt)
            net.train()
            self.loss_curve_ = []
            for _ in range(self.epochs):
                perm = torch.randperm(n, generator=gen)
                total = 0.0
                for start in range(0, n, self.batch_size):
                    idx = perm[start : start + self.batch_size]
                    opt.zero_grad()
                    out = net([b[idx] for b in tb], td[idx])
                    loss = torch.nn.functional.mse_loss(out, tt[idx])
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                self.loss_curve_.append(total / n)
            net.eval()
        finally:
            torch.set_num_threads(old)
        self.net_ = net
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Offset plus the network's residual prediction."""
        check_is_fitted(self, "net_")
        torch = _torch()
        check_design(X)
        missing = [c for c in self.drug_features_ if c not in X.columns]
        if missing:
            raise InputError(f"X lacks {len(missing)} drug feature column(s) the model uses")
        blocks, D = self._blocks(X)
        old = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            with torch.no_grad():
                out = self.net_(
                    [torch.from_numpy(np.ascontiguousarray(b)) for b in blocks], torch.from_numpy(D)
                ).numpy()
        finally:
            torch.set_num_threads(old)
        return self._offset(X) + out.astype(float) * self.y_scale_

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if "net_" in state:
            # Pickle the weights, not the dynamically defined module class.
            state["net_"] = {k: v.clone() for k, v in state["net_"].state_dict().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.get("net_")
        self.__dict__.update(state)
        if isinstance(weights, dict):
            torch = _torch()
            net = _build(
                torch,
                [s.stop - s.start for s in state["slices_"]],
                len(state["drug_features_"]),
                state["hidden"],
                state["dropout"],
            )
            net.load_state_dict(weights)
            net.eval()
            self.net_ = net
