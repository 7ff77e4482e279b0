"""A small MLP head in torch: dropout, weight decay (AdamW), early stopping on a held-out split."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split

from .base import HeadMixin, feature_scale, softmax
from .params import at_least, fraction, positive, whole_at_least


class MLPHead(HeadMixin, BaseEstimator):
    """Standardize -> Linear -> ReLU -> Dropout -> Linear, trained full-batch with AdamW.

    Early stopping keeps the weights with the best held-out loss when every class has at
    least 2 examples and ``validation_fraction > 0``; otherwise it trains ``max_epochs``.
    """

    _state_attrs = ("mean_", "scale_", "W1_", "b1_", "W2_", "b2_")
    # validation_fraction 0 is allowed: no held-out split, no early stopping (the docstring)
    _param_rules = {"hidden": whole_at_least(1), "dropout": fraction(low_closed=True),
                    "weight_decay": at_least(0), "lr": positive(), "max_epochs": whole_at_least(1),
                    "patience": whole_at_least(1), "validation_fraction": fraction(low_closed=True)}

    def __init__(self, hidden: int = 256, dropout: float = 0.5, weight_decay: float = 1e-2,
                 lr: float = 1e-3, max_epochs: int = 300, patience: int = 20,
                 validation_fraction: float = 0.15, random_state: int = 0):
        self.hidden = hidden
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr = lr
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def fit(self, X, y) -> MLPHead:
        X, y_idx = self._validate_fit(X, y)
        self.mean_ = X.mean(axis=0)
        self.scale_ = feature_scale(X)  # near-dead features are not blown up
        Xs = (X - self.mean_) / self.scale_
        X_tr, y_tr, X_val, y_val = self._split(Xs, y_idx)
        torch.manual_seed(self.random_state)
        net = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], self.hidden), torch.nn.ReLU(),
            torch.nn.Dropout(self.dropout), torch.nn.Linear(self.hidden, len(self.classes_)),
        )
        self.n_epochs_ = self._train(net, X_tr, y_tr, X_val, y_val)
        self.W1_, self.b1_ = net[0].weight.detach().double().numpy(), net[0].bias.detach().double().numpy()
        self.W2_, self.b2_ = net[3].weight.detach().double().numpy(), net[3].bias.detach().double().numpy()
        return self

    def _split(self, Xs, y_idx):
        counts = np.bincount(y_idx)
        n_val = int(round(self.validation_fraction * len(y_idx)))
        if self.validation_fraction <= 0 or counts.min() < 2 or n_val < len(counts):
            return Xs, y_idx, None, None
        X_tr, X_val, y_tr, y_val = train_test_split(
            Xs, y_idx, test_size=n_val, stratify=y_idx, random_state=self.random_state)
        return X_tr, y_tr, X_val, y_val

    def _train(self, net, X_tr, y_tr, X_val, y_val) -> int:
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        xt, yt = torch.tensor(X_tr, dtype=torch.float32), torch.tensor(y_tr)
        loss_fn = torch.nn.CrossEntropyLoss()
        best, best_state, bad, epoch = np.inf, None, 0, 0
        for epoch in range(1, self.max_epochs + 1):  # noqa: B007  (returned below)
            net.train()
            opt.zero_grad()
            loss_fn(net(xt), yt).backward()
            opt.step()
            if X_val is None:
                continue
            net.eval()
            with torch.no_grad():
                val = loss_fn(net(torch.tensor(X_val, dtype=torch.float32)), torch.tensor(y_val)).item()
            if val < best - 1e-4:
                best, bad = val, 0
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            else:
                bad += 1
                if bad >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        return epoch

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities from the trained network (numpy forward pass)."""
        X = self._validate_predict(X)
        hidden = np.maximum(((X - self.mean_) / self.scale_) @ self.W1_.T + self.b1_, 0.0)
        return self._calibrated(softmax(hidden @ self.W2_.T + self.b2_))
