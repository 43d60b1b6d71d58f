"""musegenie training: data filter, synthetic corpus, models, trainer (torch lives here, imported lazily)."""
