"""Loading trained models and transcribing with them: the library behind `asr transcribe` and `asr evaluate`.

A model reads audio or images as its config says (`features.kind`); the same Transcriber serves both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from asr.audio import AUDIO_EXTENSIONS, load_audio, read_chunks
from asr.data.manifest import audio_duration
from asr.config import DecodingConfig, ExperimentConfig, from_dict
from asr.decoding.align import AlignmentError, WordSpan, frame_seconds, word_timestamps
from asr.decoding.greedy import greedy_decode
from asr.decoding.hypothesis import Hypothesis
from asr.frontend import build_frontend
from asr.frontend.image import IMAGE_EXTENSIONS
from asr.models import AttentionRecognizer, build_model, has_ctc_head
from asr.text import Vocabulary, WordVocabulary, build_vocabulary, get_normalizer
from asr.training.state import load_checkpoint

logger = logging.getLogger(__name__)

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
DEFAULT_MODEL = "english-small"  # English read sentences; the digit model stays available by name
CHUNK_SECONDS = 30.0  # longer recordings are transcribed piece by piece, cut at pauses


def available_models() -> list[str]:
    """Names of the models bundled with the package (each has a model card beside it)."""
    return sorted(path.stem for path in PRETRAINED_DIR.glob("*.pt"))


def resolve_model_path(name_or_path: str | Path | None) -> Path:
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    if str(name_or_path) in available_models():
        return PRETRAINED_DIR / f"{name_or_path}.pt"
    path = Path(name_or_path)
    if path.is_file():
        return path
    raise FileNotFoundError(f"no model file or bundled model named {str(name_or_path)!r}; "
                            f"bundled models: {', '.join(available_models()) or 'none'}")


@dataclass
class FileResult:
    path: Path
    hypothesis: Hypothesis | None = None
    error: Exception | None = None
    duration: float = 0.0  # seconds of audio (0 for images)
    words: list[WordSpan] | None = None  # word timestamps, when asked for
    attention: torch.Tensor | None = None  # attention models: weights (tokens + <eos>, encoder frames), on the CPU


@dataclass
class Decoded:
    """One input's decoding: the hypothesis, its word times when asked for, its attention weights (if any)."""

    hypothesis: Hypothesis
    words: list[WordSpan] | None = None
    attention: torch.Tensor | None = None  # (L + 1, T)
    error: AlignmentError | None = None  # word times were asked for and the hypothesis has none


class Transcriber:
    """A trained model with its vocabulary and config, ready to decode audio (or images, for an image
    model: `is_image`) on `device`."""

    def __init__(self, model: torch.nn.Module, vocabulary: Vocabulary | WordVocabulary, config: ExperimentConfig,
                 device: torch.device | str = "cpu", decoding: DecodingConfig | None = None):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.vocabulary, self.config = vocabulary, config
        self.frontend = model.frontend  # FeatureExtractor, ImageFrontend or PictureFrontend
        self.sample_rate = config.features.sample_rate
        self.is_image = config.features.is_image
        self.is_attention = isinstance(model, AttentionRecognizer)
        self.normalize = get_normalizer(config.data.normalizer)
        self.chunk_seconds = CHUNK_SECONDS
        self.set_decoding(config.decoding if decoding is None else decoding)

    def set_decoding(self, decoding: DecodingConfig, lm: object | None = None) -> None:
        """Decode with `decoding` from now on (the checkpoint's `config.decoding` by default). A beam
        decoder reads its LM file here, unless `lm` (NgramTables) is given."""
        decoding.validate()
        if self.is_attention and (decoding.lm or decoding.hotwords):
            raise ValueError("an attention model decodes without an n-gram LM or hotwords (they fuse with CTC "
                             "prefix beam search); drop --lm / --hotwords")
        self.decoding = decoding
        self.beam_decoder = None
        if decoding.decoder == "beam" and not self.is_attention:
            from asr.decoding.ctc_beam import CTCBeamSearchDecoder, load_lm  # numba compiles on first use

            if lm is None and decoding.lm:
                lm = load_lm(decoding.lm)
            self.beam_decoder = CTCBeamSearchDecoder(self.vocabulary, decoding, lm)

    @property
    def seconds_per_frame(self) -> float:
        """Seconds between output frames (of an audio model)."""
        return frame_seconds(self.config)

    def decode(self, log_probs: torch.Tensor, output_lens: torch.Tensor) -> list[Hypothesis]:
        """log_probs `(B, T, V)`, output_lens `(B,)` -> one Hypothesis each, by the chosen decoder."""
        if self.beam_decoder is None:
            return greedy_decode(log_probs, output_lens, self.vocabulary)
        return self.beam_decoder(log_probs, output_lens)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: torch.device | str = "cpu") -> Transcriber:
        checkpoint = load_checkpoint(path)
        config = from_dict(checkpoint["config"])
        vocabulary = build_vocabulary(config.data.unit, checkpoint["vocabulary"])
        model = build_model(config.model, build_frontend(config.features), len(vocabulary))
        model.load_state_dict(checkpoint["model"])
        return cls(model, vocabulary, config, device)

    @torch.no_grad()
    def transcribe_waveforms(self, waveforms: Sequence[torch.Tensor]) -> list[Hypothesis]:
        """Mono waveforms `(num_samples,)` at `self.sample_rate` -> one Hypothesis each, decoded as one batch."""
        return [decoded.hypothesis for decoded in self._decode_features([self.frontend(w) for w in waveforms])]

    @property
    def input_extensions(self) -> tuple[str, ...]:
        """File name extensions this model reads (lower case), for expanding directories."""
        return IMAGE_EXTENSIONS if self.is_image else AUDIO_EXTENSIONS

    def _load_features(self, path: str | Path) -> tuple[torch.Tensor, float]:
        """features `(num_frames, num_features)` of one file, and its duration in seconds (0 for images)."""
        if not self.is_image:
            waveform = load_audio(path, self.sample_rate)
            with torch.no_grad():
                return self.frontend(waveform), len(waveform) / self.sample_rate
        features = self.frontend(self.frontend.load(path))
        if self.config.features.kind == "picture":
            return features, 0.0
        # An image narrower than one output frame is padded with blank paper: it then decodes (most
        # likely to nothing) instead of failing in the recurrent layers, which need a frame at least.
        shortfall = self.model.min_width(1) - features.shape[0]
        if shortfall > 0:
            features = torch.nn.functional.pad(features, (0, 0, 0, shortfall))
        return features, 0.0

    @staticmethod
    def _pad(features: list[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        feature_lens = torch.tensor([feature.shape[0] for feature in features], device=device)
        return torch.nn.utils.rnn.pad_sequence(features, batch_first=True).to(device), feature_lens

    @torch.no_grad()
    def emissions(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """features, each `(num_frames, num_features)` -> CTC log_probs `(B, T, V)`, output_lens `(B,)`
        (a joint model's CTC head; an attention-only model has none)."""
        padded, feature_lens = self._pad(features, self.device)
        if not self.is_attention:
            return self.model(padded, feature_lens)
        if not self.model.is_joint:
            raise ValueError("this attention model has no CTC head, so no per-frame emissions")
        _, memory_lens, ctc_log_probs = self.model.encode(padded, feature_lens)
        return ctc_log_probs, memory_lens

    @property
    def has_timestamps(self) -> bool:
        """Whether word times can be had: they come from a CTC alignment, so an audio model with a CTC head."""
        return not self.is_image and has_ctc_head(self.model)

    @torch.no_grad()
    def _decode_features(self, features: list[torch.Tensor], timestamps: bool = False) -> list[Decoded]:
        if not features:
            return []
        if timestamps and not self.has_timestamps:
            raise ValueError("word times come from a CTC alignment: this model has no CTC head")
        if self.is_attention:
            decoded, log_probs, output_lens = self._decode_attention(features)
        else:
            log_probs, output_lens = self.emissions(features)
            decoded = [Decoded(hypothesis) for hypothesis in self.decode(log_probs, output_lens)]
        if timestamps:
            # The decoded tokens are placed on the frames by forced alignment (the best path, for greedy).
            # An attention hypothesis may be impossible under CTC (too long for its frames): that item
            # alone fails.
            for index, (item, length) in enumerate(zip(decoded, output_lens.tolist())):
                try:
                    item.words = word_timestamps(log_probs[index, :length], self.vocabulary, self.seconds_per_frame,
                                                 item.hypothesis.tokens)
                except AlignmentError as error:
                    item.error = error
        return decoded

    def _decode_attention(self, features: list[torch.Tensor]) -> tuple[list[Decoded], torch.Tensor | None,
                                                                         torch.Tensor]:
        """An attention model's searches: greedy, or beam search (rescored with CTC prefix scores when the
        model is joint and decoding.ctc_weight > 0). Also returns the CTC log-probs (None without CTC)."""
        from asr.decoding.attention_search import decode_with

        padded, feature_lens = self._pad(features, self.device)
        memory, memory_lens, ctc_log_probs = self.model.encode(padded, feature_lens)
        found = decode_with(self.decoding, self.model.decoder, memory, memory_lens, ctc_log_probs)
        decoded = [Decoded(Hypothesis(self.vocabulary.decode(item.tokens), tuple(item.tokens), item.score),
                           attention=None if item.attention is None else item.attention.float().cpu())
                   for item in found]
        return decoded, ctc_log_probs, memory_lens

    def transcribe_files(self, paths: Iterable[Path], batch_size: int = 16,
                         timestamps: bool = False) -> Iterator[FileResult]:
        """Yield a FileResult per path, in order; a file that cannot be read (missing, undecodable, too
        short for the front-end) gives its error and the others go on. `timestamps`: also the words'
        start and end times (audio models)."""
        pending: list[tuple[FileResult, torch.Tensor]] = []
        for path in paths:
            try:
                if not self.is_image and self._header_seconds(path) > self.chunk_seconds:
                    long_result = self.transcribe_long(path, timestamps)
                    yield from self._flush(pending, timestamps)
                    pending = []
                    yield long_result
                    continue
                features, duration = self._load_features(path)
            except (OSError, ValueError) as error:
                yield from self._flush(pending, timestamps)
                pending = []
                yield FileResult(Path(path), error=error)
                continue
            pending.append((FileResult(Path(path), duration=duration), features))
            if len(pending) == batch_size:
                yield from self._flush(pending, timestamps)
                pending = []
        yield from self._flush(pending, timestamps)

    @staticmethod
    def _header_seconds(path: str | Path) -> float:
        """The duration from the file's header; 0 when there is none (decoding the file names the problem)."""
        try:
            return audio_duration(path)
        except (OSError, ValueError):
            return 0.0

    def transcribe_long(self, path: str | Path, timestamps: bool = False) -> FileResult:
        """One recording of any length, in pieces of at most `chunk_seconds` cut at pauses
        (`asr.audio.read_chunks`), each decoded on its own: memory stays that of one piece. Texts are
        joined with a space and word times are shifted by each piece's start, so they run on across pieces."""
        texts, tokens, score, words, duration = [], [], 0.0, [], 0.0
        for start, waveform in read_chunks(path, self.sample_rate, self.chunk_seconds):
            duration = start + len(waveform) / self.sample_rate
            # Pieces begin and end in pauses; the pauses are trimmed (as the recordings a model is trained
            # on mostly are), so per-utterance normalisation sees the speech, not the silence around it.
            first, last = speech_bounds(waveform, self.sample_rate)
            if last - first < self.frontend.min_samples:
                continue  # silence, or a sliver too short for one feature frame
            start += first / self.sample_rate
            waveform = waveform[first:last]
            with torch.no_grad():
                (piece,) = self._decode_features([self.frontend(waveform.to(self.device))], timestamps)
            if piece.error is not None:
                raise AlignmentError(f"{path}: no word times for the piece at {start:.1f} s: {piece.error}")
            hypothesis, piece_words = piece.hypothesis, piece.words
            if hypothesis.text.strip():
                if tokens and self.vocabulary.space_id is not None:
                    tokens.append(self.vocabulary.space_id)
                texts.append(hypothesis.text.strip())
                tokens.extend(hypothesis.tokens)
            score += hypothesis.score
            for word in piece_words or []:
                words.append(WordSpan(word.word, word.start + start, word.end + start, word.confidence))
        return FileResult(Path(path), Hypothesis(" ".join(texts), tuple(tokens), score), duration=duration,
                          words=words if timestamps else None)

    def token_labels(self, tokens: Sequence[int], num_rows: int) -> list[str]:
        """Display strings for the rows of an attention matrix: the tokens, then `<eos>` (the last step)."""
        labels = [self.vocabulary.tokens[token] for token in tokens] + ["<eos>"]
        return labels[:num_rows] + ["?"] * (num_rows - len(labels))

    def write_attention_plot(self, result: FileResult, out_dir: str | Path) -> Path:
        """A PNG of `result`'s attention over its input (re-read from its file): `<out_dir>/<stem>.png`."""
        from asr.plots import plot_image_attention, plot_sequence_attention

        if result.attention is None:
            raise ValueError(f"{result.path}: no attention weights (not an attention model, or not decoded)")
        target = Path(out_dir) / f"{Path(result.path).stem}.png"
        labels = self.token_labels(result.hypothesis.tokens, result.attention.shape[0])
        title = f"{Path(result.path).name}: {result.hypothesis.text}"
        kind = self.config.features.kind
        if kind == "picture":
            rgb = self.frontend.load(result.path).permute(1, 2, 0).numpy()
            return plot_image_attention(result.attention, labels, rgb, self.model.grid_shape, target, title)
        if kind == "image":
            paper = 1.0 - self.frontend.load(result.path).numpy()
            return plot_sequence_attention(result.attention, labels, target, paper, self.model.min_width(1), title,
                                           background_kind="image")
        spectrogram = self.frontend.log_mel(load_audio(result.path, self.sample_rate))
        return plot_sequence_attention(result.attention, labels, target, spectrogram.numpy(), None, title,
                                       background_kind="features")

    def _flush(self, pending: list[tuple[FileResult, torch.Tensor]], timestamps: bool = False) -> Iterator[FileResult]:
        decoded = self._decode_features([features for _, features in pending], timestamps)
        for (result, _), item in zip(pending, decoded):
            if item.error is not None:
                yield FileResult(result.path, error=AlignmentError(f"{result.path}: no word times: {item.error}"))
                continue
            result.hypothesis, result.words, result.attention = item.hypothesis, item.words, item.attention
            yield result


SILENCE_DB = 40.0  # frames this far below the loudest frame of a piece count as pause
PAUSE_MARGIN_SECONDS = 0.1  # pause kept on each side of the speech


def speech_bounds(waveform: torch.Tensor, sample_rate: int) -> tuple[int, int]:
    """(first, last) samples of a piece without the pause around its speech, keeping a margin; (0, 0)
    for a piece that is all silence."""
    frame = max(1, int(0.01 * sample_rate))
    usable = waveform[:len(waveform) // frame * frame].double()
    if usable.numel() == 0:
        return 0, 0
    energy = usable.reshape(-1, frame).pow(2).mean(dim=1)
    loud = torch.nonzero(energy > energy.max() * 10 ** (-SILENCE_DB / 10) + 1e-10).flatten()
    if loud.numel() == 0:
        return 0, 0
    margin = int(PAUSE_MARGIN_SECONDS * sample_rate)
    return max(0, int(loud[0]) * frame - margin), min(len(waveform), (int(loud[-1]) + 1) * frame + margin)


def load_model(name_or_path: str | Path | None = None, device: torch.device | str = "cpu") -> Transcriber:
    """A bundled model by name (see `available_models()`), or a checkpoint file; None gives the default."""
    return Transcriber.from_checkpoint(resolve_model_path(name_or_path), device)


def expand_audio_paths(paths: Iterable[str | Path], extensions: Sequence[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """Files as given (existing or not: a missing one is reported when read), and directories expanded
    to the files below them with one of `extensions` (audio by default; a Transcriber's
    `input_extensions` for the files its model reads), sorted."""
    expanded: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            expanded.extend(sorted(child for child in path.rglob("*") if child.suffix.lower() in extensions))
        else:
            expanded.append(path)
    return expanded


def transcribe(paths: Iterable[str | Path], model: str | Path | None = None) -> list[str]:
    """Texts of audio files, or image files for an image model (directories are expanded); raises on the
    first file that cannot be read."""
    transcriber = load_model(model)
    texts = []
    for result in transcriber.transcribe_files(expand_audio_paths(paths, transcriber.input_extensions)):
        if result.error is not None:
            raise result.error
        texts.append(result.hypothesis.text)
    return texts
