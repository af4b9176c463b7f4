"""A linear echo canceller beside AEC3, and the double-talk detector that reads it.

AEC3's residual suppressor clips the user's consonants in double talk and lets echo through
right after the coach's pauses. A purely linear canceller subtracts its estimate of the echo
and nothing else, so the user's words stay whole and what is left of the echo follows the
echo it predicts: the right signal to decide "the user is talking" on.

    reference, microphone (10 ms) --> LinearCanceller --> error (mic - estimate), estimate
    error, estimate (30 ms)       --> DoubleTalkDetector --> how far the error stands above
                                                             the residue the estimate predicts

How the filter and the detector work, and how they were measured: docs/hearing.md
("Hearing over the coach's voice", and this module under "The modules in detail").
"""
from __future__ import annotations

import numpy as np

BLOCK = 160                    # 10 ms at 16 kHz: one AEC3 frame
FILTER_S = 0.256               # echo path the filter models (after the measured delay)
STEP = 1.0                     # NLMS step of the background filter: fast (the foreground keeps only what does better)
COPY_BETTER = 0.35             # background error power below this share of the foreground's (-4.6 dB): take it ...
COPY_BETTER_EARLY = 0.7        # ... or of this share in the filter's first SETTLING_S of the coach's voice
SETTLING_S = 5.0               # seconds of reference with the coach's voice in them before the strict rule
VOICE_LEVEL = 1e-6             # mean power of 10 ms of reference that counts as the coach's voice (-60 dBFS)
RESET_WORSE = 4.0              # background error power above this many times the foreground's: put it back
SMOOTHING = 0.85               # error powers compared over ~60 ms

FIT_S = 2.0                    # microphone audio a least-squares start is fitted and judged on (LinearCanceller.refit)
FIT_SHARE = 0.7                # the share it is fitted on; the rest judges it
WHITENING_ORDER = 20           # linear prediction order of the filter that whitens the fit's signals
FIT_ITERATIONS = 50            # conjugate-gradient steps of that fit (about 2 ms each)
FIT_BETTER = 0.5               # the fit is taken when it leaves at most this share of what the foreground leaves (-3 dB)

BAND_EDGES_HZ = (100, 300, 500, 750, 1000, 1400, 1900, 2500, 3200, 4000, 5000, 6200, 8000)
TAIL_DB_PER_S = 45.0           # the predicted echo decays at least this slowly (a room's reverberation)
LEAK_START = 1.0               # share of the echo left before anything is learned: all of it
LEAK_CEILING = 4.0             # a filter still converging leaves more than it predicts
LEAK_FLOOR = 1e-2              # never trust the canceller beyond 20 dB in a band (see the module's docstring)
LEAK_MEMORY = 0.94             # the leak is learned over about half a second of the coach alone
LEARN_BELOW_DB = 6.0           # frames scoring above this may hold the user: nothing is learned from them
NOISE_MEMORY = 0.9             # the noise floor is the mean of the quiet frames' power over about 0.3 s ...
NOISE_QUIET = 4.0              # ... a frame up to this many times the floor being quiet (not speech, not echo)
NOISE_RISE = 1.01              # louder frames raise it only this much (a fan switched on is followed in ~5 s)


class LinearCanceller:
    """Two-path partitioned-block frequency-domain NLMS on BLOCK-sample blocks (float in, float out)."""

    def __init__(self, sample_rate: int = 16000, filter_s: float = FILTER_S, step: float = STEP) -> None:
        self.partitions = max(1, int(np.ceil(filter_s * sample_rate / BLOCK)))
        bins = BLOCK + 1
        self.step = step
        self._spectra = np.zeros((self.partitions, bins), np.complex128)   # the last blocks of reference, newest first
        self._front = np.zeros((self.partitions, bins), np.complex128)     # foreground filter (used)
        self._back = np.zeros((self.partitions, bins), np.complex128)      # background filter (adapting)
        self._previous = np.zeros(BLOCK)
        self._power = np.zeros(bins)
        self._front_error = 0.0
        self._back_error = 0.0
        self._sounding = 0                                                  # reference blocks with the coach's voice so far
        self._settled_after = round(SETTLING_S * sample_rate / BLOCK)
        self._constrain = 0                                                 # partition constrained next
        self.copies = 0                                                     # times the background was taken
        self._lags = np.arange(self.partitions * BLOCK).reshape(self.partitions, BLOCK)
        self._before = 0                                                    # taps this early are held at zero
        self.refitted = False                                               # both paths started from a fit (refit)

    @property
    def settled(self) -> bool:
        """The filter has adapted on SETTLING_S of the coach's voice: the strict copy rule applies."""
        return self._sounding >= self._settled_after

    def silence_before(self, samples: int) -> None:
        """No echo arrives before `samples` (the measured delay less a margin): hold those taps at zero.
        Left free, they pick up noise that, after each of the coach's pauses, comes out before its echo does."""
        self._before = max(0, samples)
        for filter_ in (self._front, self._back):
            for k in range(min(self.partitions, -(-self._before // BLOCK))):
                filter_[k] = self._constrained(filter_[k], k)

    def _constrained(self, spectrum: np.ndarray, k: int) -> np.ndarray:
        taps = np.fft.irfft(spectrum, 2 * BLOCK)
        taps[BLOCK:] = 0.0
        taps[:BLOCK][self._lags[k] < self._before] = 0.0
        return np.fft.rfft(taps)

    def process(self, mic: np.ndarray, reference: np.ndarray, may_copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """BLOCK samples of microphone and aligned reference in; (error, echo estimate) out.

        `may_copy` False (the user may be talking) keeps the foreground as it is: a background
        that has adapted to the user's voice can look better than it while the user talks."""
        mic = np.asarray(mic, np.float64)
        reference = np.asarray(reference, np.float64)
        self._sounding += float(np.mean(np.square(reference))) > VOICE_LEVEL
        spectrum = np.fft.rfft(np.concatenate([self._previous, reference]))
        self._previous = reference
        self._spectra = np.roll(self._spectra, 1, axis=0)
        self._spectra[0] = spectrum
        front_echo = np.fft.irfft(np.einsum("pk,pk->k", self._spectra, self._front), 2 * BLOCK)[BLOCK:]
        back_echo = np.fft.irfft(np.einsum("pk,pk->k", self._spectra, self._back), 2 * BLOCK)[BLOCK:]
        front_error, back_error = mic - front_echo, mic - back_echo
        self._adapt(back_error, spectrum)
        self._choose(float(np.dot(front_error, front_error)), float(np.dot(back_error, back_error)),
                     float(np.dot(mic, mic)), may_copy)
        return front_error, front_echo

    def refit(self, reference: np.ndarray, mic: np.ndarray, first_tap: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
        """Fit the echo path by least squares to `mic` and the reference it heard, and start
        both filters from the fit when it leaves clearly less of the echo than the foreground.

        `reference` is aligned as `process` gets it and holds the filter's length less one
        sample more before the first microphone sample. NLMS on speech converges slowly
        (measured on the coach's lines: 13 dB of echo taken out 2.5 s into the first line,
        18 dB at 4 s); a least-squares fit on the first seconds takes out about 20-30 dB at
        once, and NLMS goes on from there.

        The fit is made on the first FIT_SHARE of the audio and judged on the rest: 4160 taps
        fitted to a second or two of speech also fit some of what they will not predict (the
        room's noise, bands the voice barely reaches), so what a fit leaves of its own audio
        flatters it. When the fit is taken: what the foreground and the fit leave of the rest,
        for the double-talk detector's learned share (DoubleTalkDetector.canceller_improved)."""
        taps = self.partitions * BLOCK
        mic = np.asarray(mic, np.float64)
        reference = np.asarray(reference, np.float64)
        if len(reference) != len(mic) + taps - 1:
            raise ValueError(f"refit needs {len(mic) + taps - 1} reference samples for {len(mic)} of the microphone, "
                             f"got {len(reference)}")
        if not np.any(reference) or not np.any(mic):
            return None
        first = min(max(self._before, first_tap), taps - 1)      # taps held at zero
        fitted_on = int(FIT_SHARE * len(mic))
        heard = reference[:len(reference) - first]
        # Both whitened by the same filter (the path is the same: convolutions commute), so the
        # fit weighs the voice's quiet high bands as NLMS does, bin by bin; fitted as they
        # are, the taps would model the loud low bands alone, and the echo of a later "s" or
        # "d" would come through unpredicted and be taken for the user.
        whiten = _whitening_filter(heard[:fitted_on + taps - first - 1])
        fitted = FirPath(_filtered(heard[:fitted_on + taps - first - 1], whiten), taps - first).fit(
            _filtered(mic[:fitted_on], whiten), FIT_ITERATIONS)
        judged = FirPath(heard[fitted_on:], taps - first)
        rest = mic[fitted_on:]
        left_before, left_after = rest - judged.echo(self.taps()[first:]), rest - judged.echo(fitted)
        if np.dot(left_after, left_after) > FIT_BETTER * np.dot(left_before, left_before):
            return None
        padded = np.zeros((self.partitions, 2 * BLOCK))
        padded[:, :BLOCK] = np.concatenate([np.zeros(first), fitted]).reshape(self.partitions, BLOCK)
        self._front[:] = np.fft.rfft(padded, axis=1)
        self._back[:] = self._front
        self._back_error = self._front_error
        self.refitted = True
        return left_before, left_after

    def taps(self) -> np.ndarray:
        """The foreground filter as one impulse response (partitions * BLOCK taps)."""
        return np.fft.irfft(self._front, 2 * BLOCK, axis=1)[:, :BLOCK].ravel()

    def _adapt(self, error: np.ndarray, spectrum: np.ndarray) -> None:
        # Normalized by the reference's power over the whole filter, so a word after a pause
        # (little power in the newest block, much in the filter) cannot make it overshoot.
        self._power = np.sum(np.abs(self._spectra) ** 2, axis=0)
        floor = 1e-6 * BLOCK + 1e-3 * float(np.mean(self._power))
        gradient = np.conj(self._spectra) * (np.fft.rfft(np.concatenate([np.zeros(BLOCK), error]))
                                             / (self._power + floor))
        self._back += self.step * gradient
        # One partition a block is held to BLOCK taps (the constraint that keeps blocks from wrapping).
        k = self._constrain
        self._back[k] = self._constrained(self._back[k], k)
        self._constrain = (k + 1) % self.partitions

    def _choose(self, front: float, back: float, mic: float, may_copy: bool) -> None:
        self._front_error = SMOOTHING * self._front_error + (1 - SMOOTHING) * front
        self._back_error = SMOOTHING * self._back_error + (1 - SMOOTHING) * back
        # A fresh foreground takes any plain gain, so it converges as fast as the background; a
        # settled one only a clear one (see the module's docstring).
        better = COPY_BETTER if self.settled else COPY_BETTER_EARLY
        if may_copy and self._back_error < better * self._front_error and back < mic:
            self._front[:] = self._back
            self._front_error = self._back_error
            self.copies += 1
        elif self._back_error > RESET_WORSE * self._front_error and self._front_error > 1e-12:
            self._back[:] = self._front
            self._back_error = self._front_error


def _whitening_filter(audio: np.ndarray, order: int = WHITENING_ORDER) -> np.ndarray:
    """The prediction-error filter [1, -a1, ..., -ap] of `audio` (linear prediction by Levinson-Durbin)."""
    size = 1 << int(np.ceil(np.log2(2 * len(audio))))
    correlation = np.fft.irfft(np.abs(np.fft.rfft(audio, size)) ** 2, size)[:order + 1]
    correlation[0] *= 1.0 + 1e-6          # a little white noise keeps the prediction stable
    if correlation[0] <= 0.0:
        return np.ones(1)
    prediction = np.ones(1)
    error = correlation[0]
    for k in range(1, order + 1):
        reflection = -float(np.dot(prediction, correlation[k:0:-1])) / error
        prediction = np.concatenate([prediction, [0.0]])
        prediction = prediction + reflection * prediction[::-1]
        error *= 1.0 - reflection * reflection
        if error <= 0.0:
            break
    return prediction


def _filtered(audio: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """`audio` through an FIR filter, the same length (the samples before it taken as silence)."""
    return np.convolve(audio, taps)[:len(audio)]


class FirPath:
    """An FIR echo path of `taps` taps heard through `reference` (len(mic) + taps - 1 samples:
    output n sees reference[n .. n + taps - 1]), products by FFT."""

    def __init__(self, reference: np.ndarray, taps: int) -> None:
        self.taps = taps
        self.outputs = len(reference) - taps + 1
        self._size = 1 << int(np.ceil(np.log2(len(reference))))
        self._spectrum = np.fft.rfft(reference, self._size)

    def echo(self, path: np.ndarray) -> np.ndarray:
        """The microphone's samples the path predicts."""
        full = np.fft.irfft(self._spectrum * np.fft.rfft(path, self._size), self._size)
        return full[self.taps - 1:self.taps - 1 + self.outputs]

    def correlation(self, signal: np.ndarray) -> np.ndarray:
        """The transpose of `echo`: each tap's correlation of the reference with `signal`."""
        padded = np.zeros(self._size)
        padded[self.taps - 1:self.taps - 1 + self.outputs] = signal
        return np.fft.irfft(np.conj(self._spectrum) * np.fft.rfft(padded), self._size)[:self.taps]

    def fit(self, mic: np.ndarray, iterations: int) -> np.ndarray:
        """Least-squares taps by conjugate gradients (CGLS). Each step fits the directions that
        explain the most echo power first, so a few dozen steps take out most of the echo even
        though speech's spectrum makes the full solution ill-conditioned."""
        path = np.zeros(self.taps)
        residual = np.asarray(mic, np.float64).copy()
        gradient = self.correlation(residual)
        direction = gradient.copy()
        gamma = float(np.dot(gradient, gradient))
        for _ in range(iterations):
            if gamma <= 1e-30:
                break
            predicted = self.echo(direction)
            step = gamma / max(float(np.dot(predicted, predicted)), 1e-30)
            path += step * direction
            residual -= step * predicted
            gradient = self.correlation(residual)
            new_gamma = float(np.dot(gradient, gradient))
            direction = gradient + (new_gamma / gamma) * direction
            gamma = new_gamma
        return path


def _band_matrix(frame: int, sample_rate: int) -> np.ndarray:
    """Sums FFT bins into the bands of BAND_EDGES_HZ (one row a band)."""
    frequencies = np.fft.rfftfreq(frame, 1.0 / sample_rate)
    edges = [e for e in BAND_EDGES_HZ if e <= sample_rate / 2]
    bands = np.zeros((len(edges) - 1, len(frequencies)))
    for b, (low, high) in enumerate(zip(edges, edges[1:])):
        bands[b, (frequencies >= low) & (frequencies < high)] = 1.0
    return bands


class DoubleTalkDetector:
    """How far the linear canceller's error stands above the residue its echo estimate predicts.

    `score(error, estimate, coach_heard)` returns a level in dB: about 0 while only the
    coach's echo (and the room) is heard, higher as the user's voice adds to it.
    """

    def __init__(self, frame: int = 480, sample_rate: int = 16000) -> None:
        self._window = np.hanning(frame)
        self._bands = _band_matrix(frame, sample_rate)
        count = len(self._bands)
        self._tail = 10 ** (-TAIL_DB_PER_S * frame / sample_rate / 10)
        self._predicted = np.zeros(count)
        self.leak = np.full(count, LEAK_START)
        self._left = np.zeros(count)          # smoothed error power above the noise, in frames of the coach alone
        self._expected = np.zeros(count)      # smoothed predicted echo power in the same frames
        self._noise: np.ndarray | None = None
        self.ratios = np.zeros(count)         # the last frame's error power over the predicted residue, band by band

    def _band_power(self, audio: np.ndarray) -> np.ndarray:
        return self._bands @ (np.abs(np.fft.rfft(audio * self._window)) ** 2) + 1e-12

    def score(self, error: np.ndarray, estimate: np.ndarray, coach_heard: bool, alone: bool = False,
              mic: np.ndarray | None = None) -> float:
        """`alone`: the caller knows only the coach is heard (it learns from this frame whatever it scores).
        `mic`: the microphone the error came from. The user's voice is in the microphone; a band
        where the error is louder than the microphone holds the canceller's own mistake (an echo
        predicted before it arrives, at a word's onset after a pause), so it counts at the
        microphone's level, never above. The room's noise is learned from the error as it is, and
        so is the share the canceller leaves while it settles (`alone`): a filter still
        converging overshoots, and what it will leave next is its whole error; after that, the
        share of what the score counts."""
        error_power = self._band_power(error)
        heard_power = error_power if mic is None else np.minimum(error_power, self._band_power(mic))
        self._predicted = np.maximum(self._band_power(estimate), self._predicted * self._tail)
        if self._noise is None:
            self._noise = error_power.copy()
        # The room's noise: the mean power of the quiet frames, not their minimum (which sits
        # several dB under the mean in bands of few bins, and would make the room itself a user).
        quiet = error_power < NOISE_QUIET * self._noise
        self._noise = np.where(quiet, NOISE_MEMORY * self._noise + (1 - NOISE_MEMORY) * error_power,
                               self._noise * NOISE_RISE)
        residue = self.leak * self._predicted + self._noise
        ratio = heard_power / residue
        self.ratios = ratio
        level = 10.0 * float(np.log10(np.mean(ratio)))
        if coach_heard:
            self._learn(error_power if alone else heard_power, level, alone)
        return level

    def canceller_improved(self, left_before: np.ndarray, left_after: np.ndarray) -> None:
        """The canceller now leaves `left_after` where it left `left_before` (the same audio):
        scale the share learned so far by what changed in each band, so the detector does not
        wait half a second of the coach's voice to trust a filter that jumped 10-20 dB."""
        frames = min(len(left_before), len(left_after)) // len(self._window)
        if frames == 0:
            return
        size = len(self._window)
        before = sum(self._band_power(left_before[i * size:(i + 1) * size]) for i in range(frames))
        after = sum(self._band_power(left_after[i * size:(i + 1) * size]) for i in range(frames))
        change = np.minimum(after / before, 1.0)
        self.leak = np.clip(self.leak * change, LEAK_FLOOR, LEAK_CEILING)
        self._left = self._left * change

    def _learn(self, error_power: np.ndarray, level: float, alone: bool) -> None:
        """While only the coach is heard, learn the share of the predicted echo the canceller leaves."""
        assert self._noise is not None
        echo_bands = self._predicted > 4.0 * self._noise
        if not echo_bands.any() or (level > LEARN_BELOW_DB and not alone):
            return
        # Ratios of sums over time, not of single frames: a frame where the echo is as quiet as
        # the room says nothing about the share the canceller leaves.
        left = np.maximum(error_power - self._noise, 0.0)
        self._left = np.where(echo_bands, LEAK_MEMORY * self._left + (1 - LEAK_MEMORY) * left, self._left)
        self._expected = np.where(echo_bands, LEAK_MEMORY * self._expected + (1 - LEAK_MEMORY) * self._predicted,
                                  self._expected)
        learned = self._expected > 0
        self.leak = np.where(learned, np.clip(self._left / np.maximum(self._expected, 1e-20), LEAK_FLOOR, LEAK_CEILING),
                             self.leak)
