"""asr: sequence recognition for speech and handwriting (CTC, attention, joint; beam search and n-gram LMs), and captioning."""

from asr.inference import available_models, load_model, transcribe

__version__ = "0.1.0"

__all__ = ["__version__", "available_models", "load_model", "transcribe"]
