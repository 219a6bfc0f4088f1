"""The linear SVM of the triage model, calibrated by a temperature.

Its own module so that importing ``triage.classifier`` does not import scikit-learn: only
fitting a model, or loading one, does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

from triage.classifier import _softmax


class CalibratedLinearSVC(LinearSVC):
    """A linear SVM whose scores become probabilities by a softmax at a temperature
    fitted (least log-loss) on 5-fold cross-validated scores of the training set: the
    probabilities then mean what they say on messages the model has not seen, so the
    policy's threshold is a real level of confidence. Unlike per-class calibration it
    keeps the model's ranking and a single set of coefficients (a few microseconds per
    message)."""

    temperature_: float = 1.0

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CalibratedLinearSVC:
        super().fit(X, y, sample_weight=sample_weight)
        self.temperature_ = _temperature(X, np.asarray(y), C=self.C, classes=self.classes_)
        return self

    def predict_proba(self, X: Any) -> Any:
        return _softmax(np.asarray(self.decision_function(X)), self.temperature_)


def _temperature(X: Any, y: Any, *, C: float, classes: Any) -> float:
    folds = min(5, int(min(np.unique(y, return_counts=True)[1])))
    if folds < 2:
        return 1.0
    scores = cross_val_predict(
        LinearSVC(C=C),
        X,
        y,
        cv=StratifiedKFold(folds, shuffle=True, random_state=0),
        method="decision_function",
    )
    truth = np.searchsorted(classes, y)
    rows = np.arange(len(y))

    def log_loss(temperature: float) -> float:
        return float(-np.log(_softmax(scores, temperature)[rows, truth] + 1e-12).mean())

    return float(min(np.arange(0.02, 3.0, 0.01), key=log_loss))
