"""The server's /api/stats names what really computes a loaded version's answers."""

from handful import Classifier
from handful.server.predictor import LoadedModel


def test_a_loaded_version_names_its_real_runtime(color_tree):
    # test_tiny_image embeds in numpy (as word2vec does): "torch" would send a user looking
    # for a torch install that this model never touches
    clf = Classifier("test_tiny_image", head="logistic").fit(color_tree)
    assert LoadedModel(clf, 1).runtime == "numpy"
