"""The torch-free half of every command: one module per command with its Config class (validated when built) and the
CLI help text, plus ``network`` for the recurrent-network settings that several commands share.

The registry (``sgtheory.experiments``) and with it the CLI import only these modules, so parsing, ``--help`` and
config validation never import torch, numpy or pandas; the run functions (``sgtheory.experiments.<module>``) import
them when a sweep runs. A config method that builds a torch object (``spike_surrogate()``, ``rnn_init()``) imports
its module when called.
"""
