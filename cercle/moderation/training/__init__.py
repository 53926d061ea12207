"""How the heads in cercle/moderation/classifiers/weights/ were made (run `python -m cercle.moderation.training`)."""
