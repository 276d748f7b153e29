"""The ``browsernet`` command line. Thin: parse options, import the stage lazily, call it.

Exit codes: 0 on success, 1 on any failure, a usage error included (one ``Error: ...`` line; the
traceback only with ``-v``); 2 for a bare ``browsernet`` or ``browsernet deploy``, which prints the help.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import re
import shlex
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from builder import __version__, interrupts
from builder.errors import BrowsernetError, OptionError, one_line

STOCK_MODELS = ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large")


def _spelling(param: click.Parameter, value: Any) -> str:
    """How an option was given on the command line: its long name, or the ``--no-`` one of a flag turned off."""
    if getattr(param, "secondary_opts", None) and value is False:
        return param.secondary_opts[0]
    return max(param.opts, key=len)


def _verbosity(f: Callable | None = None, *, quiet: str = "Only errors.") -> Callable:
    """The -v and -q options; ``quiet``: what -q leaves (a command whose output is a verdict keeps it)."""
    def add(f: Callable) -> Callable:
        f = click.option("-v", "--verbose", count=True, help="More output; -v also shows tracebacks on errors.")(f)
        return click.option("-q", "--quiet", is_flag=True, help=quiet)(f)

    return add(f) if f is not None else add


def _disk_full(e: BaseException) -> str | None:
    """One line for a full disk, a quota or a file size limit, whichever library hit it (Python's OSError,
    TensorFlow's ResourceExhaustedError "PATH; No space left on device" or OutOfRangeError "PATH; File too
    large", NumPy's short write "N requested and M written"), naming the file where known; else None."""
    text = str(e)
    where = None
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        where = e.filename
    elif "; No space left on device" in text or "; File too large" in text:
        where = text.rsplit("; ", 1)[0].strip()
    if (isinstance(e, OSError) and e.errno == errno.EFBIG) or "File too large" in text:
        reason = "a file is larger than this file system or your file size limit (ulimit -f) allows; raise the limit"
    elif (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)) or "No space left on device" in text:
        reason = "no space left on the device (or your disk quota); free some space"
    elif re.fullmatch(r"\d+ requested and \d+ written", text.strip()):
        reason = ("a write was cut short: no space left on the device, or a disk quota or file size limit (ulimit "
                  "-f); free some space or raise the limit")
    else:
        return None
    return (f"{where}: " if where else "") + reason + (" and run it again (a build or training run leaves its "
                                                        "previous output as it was)")


def _say(quiet: bool) -> Callable[[str], None]:
    """click.echo, or nothing under -q ("Only errors")."""
    return (lambda text: None) if quiet else click.echo


def _aborted() -> click.Abort:
    # The asyncio loop under Playwright's sync API logs the driver's closed pipe at exit ("Future exception
    # was never retrieved"), and its subprocess transport, finalized after the loop closed, prints
    # "Exception ignored in ... Event loop is closed": noise once the user has stopped the command.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    sys.unraisablehook = lambda unraisable: None
    return click.Abort()


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    """``warnings.showwarning`` without -v: the message alone, through logging (so -q leaves it out)."""
    logging.getLogger("warnings").warning("%s", one_line(message))


def _run(verbose: int, quiet: bool, action: Callable[[], Any]) -> Any:
    """Run ``action`` with logging set up; turn every failure into one clean line (exit 1), and Ctrl-C
    into click's "Aborted!" (exit 1)."""
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.ERROR if quiet else logging.WARNING
    # Without -v, a warning reads as the build's own notes do ("warning: ..."); -v names the module too.
    logging.basicConfig(level=level, force=True,
                        format="%(levelname)s %(name)s: %(message)s" if verbose else "warning: %(message)s")
    for noisy in ("tensorflow", "absl", "h5py"):
        logging.getLogger(noisy).setLevel(max(level, logging.ERROR))
    with interrupts.Interrupts(), warnings.catch_warnings():
        if not verbose:
            # Keras's and TensorFlow's Python warnings (the structure of a model's inputs, ...) speak to the
            # model's author while training it, in library terms; the build says what matters. -v shows them.
            warnings.filterwarnings("ignore", module=r"(keras|tf_keras|tensorflow)(\.|$)")
            # Other libraries' warnings (Pillow's "Corrupt EXIF data", a font without a class name's glyphs) are
            # one "warning: ..." line, as the command's own, without their source file and line; -q hides them.
            warnings.showwarning = _warning_line
        try:
            result = action()
            interrupts.raise_if_cut_short()  # a stop signal whose KeyboardInterrupt some library swallowed
            return result
        except BrowsernetError as e:
            if interrupts.seen():  # whatever failed, it failed because the user pressed Ctrl-C
                raise _aborted() from None
            if verbose:
                traceback.print_exc()
            if isinstance(e, OptionError):  # as click's own usage errors: where the options are explained
                raise BrowsernetError(f"{e.format_message()} (see '{click.get_current_context().command_path} "
                                      "--help')") from e
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise _aborted() from None
        except Exception as e:
            if interrupts.seen():
                raise _aborted() from None
            if verbose:
                traceback.print_exc()
            full = _disk_full(e)
            if full:
                raise BrowsernetError(full) from e
            # A bug or an untranslated third-party failure: still one line.
            first = (str(e).strip().splitlines() or [""])[0][:300]
            raise BrowsernetError(f"unexpected {type(e).__name__}: {first} (run with -v for the traceback)") from e


def _build_options(f: Callable) -> Callable:
    """Options shared by ``build-site`` and ``serve --build``."""
    options = [
        click.option("--model", "model", default="mobilenet_v2", show_default=True, metavar="NAME|PATH",
                     help="mobilenet_v1, mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large, or a Keras model "
                          "file (.h5 from Keras 2 or 3, .keras). A file is read without running any code in it: a "
                          "Lambda or custom layer class is refused. Supported layers: docs/models.md."),
        click.option("--alpha", type=float, default=1.0, show_default=True,
                     help="Width multiplier for a stock model."),
        click.option("--minimalistic", is_flag=True,
                     help="MobileNetV3: Keras's minimalistic variant (no hard-swish, no squeeze-and-excite, "
                          "3x3 kernels; ImageNet weights for alpha 1.0)."),
        click.option("--head", type=click.Choice(["auto", "softmax", "logits", "sigmoid", "logit"]), default="auto",
                     show_default=True,
                     help="What the model outputs: softmax probabilities; logits (N scores, the page applies a "
                          "softmax); sigmoid or logit (one unit for two classes, the page shows [1-p, p]). auto "
                          "reads it off the last layer and fails when it cannot tell."),
        click.option("--input-size", type=int, default=None,
                     help="Input resolution (pixels, square, 32 to 1024) for a stock model; for a model file whose "
                          "input takes any size, the size to build it at.  [default: 224; a model file's own]"),
        click.option("--weights", default="imagenet", show_default=True, metavar="imagenet|none|PATH",
                     help="Stock model weights: ImageNet (via Keras's download cache), random, or a weights file."),
        click.option("--labels", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="Labels file: one per line, or a JSON list.  [default: for a model written by "
                          "browsernet train, the labels.txt beside it; else ImageNet's 1,000 (shipped)]"),
        click.option("--preprocess", type=click.Choice(["mobilenet", "unit", "raw"]), default=None,
                     help="Input scaling the model expects: x/127.5-1, x/255, or 0-255.  [default: mobilenet; for "
                          "a model that rescales its own input, the range its scaling was made for: raw, unit or "
                          "mobilenet]"),
        click.option("--scaled-twice", is_flag=True,
                     help="For a model that rescales its own input: it was trained on pixels scaled by "
                          "--preprocess first, so feed it those (else such a --preprocess is refused: the "
                          "pixels would be scaled twice)."),
        click.option("--quantize", multiple=True, metavar="auto|none|DTYPE[=PATTERNS]",
                     help="auto: the smallest per-weight mix of uint8/uint16/float16/float32 that keeps "
                          "top-1 agreement with float32 on the calibration images. DTYPE: store weights as "
                          "float16, uint16 or uint8; all of them, or those matching comma-separated glob "
                          "patterns (e.g. uint8=*/kernel); repeatable. A folded uint8 kernel is scaled per "
                          "output channel. none: float32.  [default: auto for a "
                          "stock model with ImageNet weights or a model written by browsernet train, else none]"),
        click.option("--calibration", type=click.Path(path_type=Path, file_okay=False), default=None,
                     metavar="DIR", help="--quantize auto: a folder of at least 20 images like the ones the site "
                                         "will see (hidden files are skipped, and files that are not images, with "
                                         "a warning).  [default: for a model written by browsernet train, its "
                                         "validation and training photos, and its test photos then measure the "
                                         "result; else 200 augmented scikit-image photos]"),
        click.option("--agreement", type=click.FloatRange(0, 1, min_open=True), default=None, metavar="FRACTION",
                     help="--quantize auto: the fraction of calibration images whose top-1 class must stay "
                          "float32's.  [default: 0.99]"),
        click.option("--max-prob-error", type=click.FloatRange(0, 1, min_open=True), default=None, metavar="P",
                     help="--quantize auto: the most any class probability may move on any calibration "
                          "image.  [default: 0.1]"),
        click.option("--shard-size", type=int, default=4 * 1024 * 1024, show_default=True, metavar="BYTES",
                     help="Maximum weight shard size in bytes, at least 1024 (a build that would write more than "
                          "500 shards is refused: the page fetches them all at once)."),
        click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("site"),
                     show_default=True, help="Output directory."),
        click.option("--title", default=None, help="Page title.  [default: from the model]"),
        click.option("--top-k", type=int, default=5, show_default=True, help="Labels shown per image."),
        click.option("--resize", type=click.Choice(["squash", "crop"]), default="squash", show_default=True,
                     help="How the page fits an image to the input size (bilinear): squash ignores the aspect "
                          "ratio (Keras image_dataset_from_directory's default); crop takes the centred box of "
                          "the input's aspect ratio first (its crop_to_aspect_ratio=True)."),
        click.option("--wasm-threads", default="auto", show_default=True, metavar="auto|N",
                     help="Threads for the WASM backend where the page is cross-origin isolated: every CPU the "
                          "browser reports (auto), or N. ?threads=N in the page's URL overrides it."),
        click.option("--optimize/--no-optimize", default=True, show_default=True,
                     help="Rewrite the model for inference: fold BatchNorm into the convolution before it, fuse "
                          "ReLU/ReLU6 into it, fold a ZeroPadding2D into the convolution after it (as "
                          "padding=\"same\"), drop Dropout. Same numbers (self-checked), fewer TF.js layers."),
        click.option("--force", is_flag=True, help="Replace --out even if it is not a previous browsernet build."),
        click.option("--target", type=click.Choice(["generic", "github-pages", "firebase"]), default="generic",
                     show_default=True, help="Where the site will be published; writes that host's files "
                                             "(.nojekyll and CNAME, or firebase.json) so deploy needs no options."),
        click.option("--cname", default=None, metavar="DOMAIN",
                     help="github-pages: custom domain, written to CNAME."),
        click.option("--firebase-project", default=None, metavar="ID",
                     help="firebase: default project ID, written to .firebaserc."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _options_from(kwargs: dict) -> Any:
    from builder.build import BuildOptions

    return BuildOptions(
        model=kwargs["model"], alpha=kwargs["alpha"], input_size=kwargs["input_size"], weights=kwargs["weights"],
        labels=kwargs["labels"], preprocess=kwargs["preprocess"], scaled_twice=kwargs["scaled_twice"],
        quantize=tuple(kwargs["quantize"]),
        calibration=kwargs["calibration"], agreement=kwargs["agreement"], max_prob_error=kwargs["max_prob_error"],
        shard_size=kwargs["shard_size"], out=kwargs["out"], title=kwargs["title"], top_k=kwargs["top_k"],
        resize=kwargs["resize"], wasm_threads=kwargs["wasm_threads"], force=kwargs["force"],
        target=kwargs["target"], cname=kwargs["cname"], firebase_project=kwargs["firebase_project"],
        optimize=kwargs["optimize"], minimalistic=kwargs["minimalistic"], head=kwargs["head"],
    )


def _with_progress(quiet: bool, headline: str, stage: Callable[[Any], Any]) -> Any:
    """Run ``stage(reporter)`` with step lines on stderr; a failure closes the open line first."""
    from builder.progress import TerminalReporter

    reporter = TerminalReporter(quiet=quiet)
    if not quiet:
        click.echo(headline, err=True)
    try:
        return stage(reporter)
    except BaseException:
        reporter.abort()
        raise


def _do_build(options: Any, quiet: bool) -> Any:
    from builder.build import build

    result = _with_progress(quiet, f"Building {options.out}/ from {options.model}",
                            lambda reporter: build(options, reporter))
    if not quiet:
        # What was made goes to stdout; how it went (the steps, notes and warnings) went to stderr.
        for line in result.summary():
            click.echo(f"  {line}")
        click.echo(f"Site written to {options.out}/ (report: {options.out}/report.json)")
    return result


# click 8.2 and later say "a bare group prints its help" with this usage error; click 8.1 exits instead.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Commands(click.Group):
    """browsernet's commands, whose usage errors (an unknown option, a value out of range, options that
    contradict each other) are one line and exit code 1, like every other bad input, instead of click's
    usage block and exit code 2. A bare group (``browsernet``, ``browsernet deploy``) still prints its help."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with self._one_line(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with self._one_line(ctx):
            return super().invoke(ctx)

    @staticmethod
    @contextlib.contextmanager
    def _one_line(ctx: click.Context) -> Iterator[None]:
        try:
            yield
        except _NO_ARGS_IS_HELP:
            raise  # a bare `browsernet` or `browsernet deploy`: the help, as asked
        except click.UsageError as e:
            where = (e.ctx or ctx).command_path
            raise BrowsernetError(f"{e.format_message().rstrip('.')} (see '{where} --help')") from e


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="browsernet")
def cli() -> None:
    """Turn a Keras MobileNet into a static website that classifies images in the browser.

    Nothing is uploaded: the model runs in the visitor's browser with TF.js.
    """


@cli.command("build-site")
@_build_options
@_verbosity
def build_site(verbose: int, quiet: bool, **kwargs: Any) -> None:
    """Convert a MobileNet to TF.js and write a static site to --out.

    The build runs the converted model in TF.js and fails unless it matches Keras
    within 1e-4 (or 4x the model's own float32 noise where that is larger:
    docs/models.md). Scripts, styles, JSON and the .wasm binaries also get
    pre-compressed .br and .gz copies for hosts that serve them. The previous
    site is replaced only by a complete build. Exit code 0 on success, 1 on failure.
    """
    _run(verbose, quiet, lambda: _do_build(_options_from(kwargs), quiet))


@cli.command()
@click.argument("data_dir", metavar="DATA_DIR", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("trained"), show_default=True,
              help="Output folder: model.keras, labels.txt, train-report.json, splits/, plots.")
@click.option("--model", type=click.Choice(STOCK_MODELS), default=None,
              help="Stock base with ImageNet weights (via Keras's cache).  [default: mobilenet_v2]")
@click.option("--alpha", type=float, default=1.0, show_default=True, help="Width multiplier of a stock base.")
@click.option("--input-size", type=int, default=None,
              help="Input resolution (pixels, square, 32 to 1024) of a stock base; for a --base file whose input "
                   "takes any size, the size to train at.  [default: 224; a --base file's own]")
@click.option("--weights", default="imagenet", show_default=True, metavar="imagenet|none|PATH",
              help="Stock base weights: ImageNet, random, or a weights file.")
@click.option("--base", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
              help="A Keras model file (.h5, .keras) whose feature extractor (up to its last global pooling "
                   "layer) is reused, instead of --model.")
@click.option("--preprocess", type=click.Choice(["mobilenet", "unit", "raw"]), default=None,
              help="Input scaling the base expects.  [default: for a base that rescales its own input, the range "
                   "its scaling was made for (raw, unit or mobilenet), else mobilenet (x/127.5-1)]")
@click.option("--validation-percent", type=float, default=20.0, show_default=True,
              help="Share of the photos held out for early stopping (chosen by content hash).")
@click.option("--test-percent", type=float, default=20.0, show_default=True,
              help="Share of the photos held out for the final evaluation (chosen by content hash).")
@click.option("--epochs", type=int, default=50, show_default=True, help="Most epochs per stage.")
@click.option("--patience", type=int, default=5, show_default=True,
              help="Early stopping: epochs without a lower validation loss.")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--learning-rate", type=float, default=1e-2, show_default=True,
              help="Adam's learning rate for the head; fine-tuning uses a hundredth of it.")
@click.option("--dropout", type=float, default=0.2, show_default=True, help="Dropout before the new head.")
@click.option("--fine-tune", type=int, default=0, show_default=True, metavar="N",
              help="After the head, also train the base's top N layers with weights (convolutions, dense; "
                   "BatchNorms stay frozen), on images.")
@click.option("--augment/--no-augment", default=None,
              help="Random flips, zoom-in crops and brightness while fine-tuning.  [default: on with --fine-tune]")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed for initialisation, shuffling, dropout and augmentation.")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Feature cache, keyed by image content and base.  [default: ~/.cache/browsernet/features]")
@click.option("--no-cache", is_flag=True, help="Compute every feature; read and write no cache.")
@click.option("--build-site", "site", type=click.Path(path_type=Path, file_okay=False), default=None,
              metavar="SITE_DIR", help="Then build the site from the trained model into SITE_DIR, as "
                                       "'build-site --model OUT/model.keras --out SITE_DIR' does (--quantize auto, "
                                       "calibrated on the validation and training photos, measured on the test "
                                       "photos).")
@click.option("--target", type=click.Choice(["generic", "github-pages", "firebase"]), default="generic",
              show_default=True, help="With --build-site: where the site will be published (as in build-site).")
@click.option("--force", is_flag=True, help="Replace --out (and SITE_DIR) even if it is not a previous output.")
@_verbosity
def train(data_dir: Path, out: Path, model: str | None, alpha: float, input_size: int | None, weights: str,
          base: Path | None, preprocess: str | None, validation_percent: float, test_percent: float, epochs: int,
          patience: int, batch_size: int, learning_rate: float, dropout: float, fine_tune: int,
          augment: bool | None, seed: int, cache_dir: Path | None, no_cache: bool, site: Path | None, target: str,
          force: bool, verbose: int, quiet: bool) -> None:
    """Fine-tune a MobileNet on DATA_DIR, a folder with one sub-folder of photos per class.

    Photos are split into training, validation and test by a hash of their content,
    so adding photos never moves one between splits. The new head trains on the
    base's features, cached on disk; --fine-tune N then trains the base's top
    layers too. --out gets model.keras (softmax head, input scaling inside: build-site
    needs no --preprocess), labels.txt, train-report.json with the test figures,
    the split lists and PNG plots; it is replaced only by a complete run. Then:
    browsernet build-site --model OUT/model.keras, or --build-site SITE_DIR does it
    in the same command. Exit code 0 on success, 1 on failure.
    """

    def action() -> None:
        from builder.train.evaluate import SEEN_IN_TRAINING, accuracy_text
        from builder.train.features import default_cache_dir
        from builder.train.pipeline import TrainOptions, check_options, check_site_target, site_cname, train as run_train

        if site is None and target != "generic":
            raise OptionError("--target is for --build-site SITE_DIR")
        if no_cache and cache_dir is not None:
            raise OptionError("--no-cache reads and writes no cache, so --cache-dir would be ignored; give one")
        if augment and not fine_tune:
            raise OptionError("--augment works while fine-tuning the base (--fine-tune N); the head alone "
                                  "trains on cached features of the photos as they are")

        options = TrainOptions(
            data=data_dir, out=out, model=model, base=base, alpha=alpha, input_size=input_size, weights=weights,
            preprocess=preprocess, validation_percent=validation_percent, test_percent=test_percent,
            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, dropout=dropout, patience=patience,
            fine_tune=fine_tune, augment=augment, seed=seed,
            cache_dir=None if no_cache else (cache_dir or default_cache_dir()), force=force, progress=not quiet)
        check_options(options)  # before the headline: a wrong option is the one line said
        if site is not None:  # before training: a wrong SITE_DIR should not cost a training run
            check_site_target(site, options, target)
        result = _with_progress(quiet, f"Training on {data_dir}/ into {out}/",
                                lambda reporter: run_train(options, reporter))
        if not quiet:
            test = result.report["test"]
            click.echo("")  # what was made to stdout, as build-site's summary; the steps and epochs went to stderr
            for line in result.table:
                click.echo(f"  {line}")
            accuracy = accuracy_text(test["accuracy"], test.get("accuracy_95ci"), "not measured (no test photos)")
            copies = test.get("near_copies_in_training", 0)
            click.echo(f"Test accuracy: {accuracy} on {test['images']} held-out photos "
                       f"(validation: {_percent(result.report['validation']['accuracy'])})"
                       + (f"; optimistic: {copies} of them were seen in training {SEEN_IN_TRAINING}" if copies else ""))
            times = ", ".join(f"{k} {v:.1f}s" for k, v in result.report["seconds"].items())
            click.echo(f"Times: {times}")
            click.echo(f"Model written to {out}/ (report: {out}/train-report.json)."
                       + ("" if site else f" Next: browsernet build-site --model {out}/model.keras"))
        if site is not None:
            from builder.build import BuildOptions
            from builder.train.report import MODEL_FILE

            _do_build(BuildOptions(model=str(out / MODEL_FILE), out=site, force=force, target=target,
                                   cname=site_cname(site, target)), quiet)

    _run(verbose, quiet, action)


def _percent(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.1%}"


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--build", "rebuild", is_flag=True,
              help="Run build-site first (with the build options below, which need --build).")
@_build_options
@_verbosity
def serve(directory: Path | None, port: int, rebuild: bool, verbose: int, quiet: bool, **kwargs: Any) -> None:
    """Preview a built site on http://127.0.0.1 with cross-origin isolation headers.

    A file with .br/.gz copies is sent as the copy the browser accepts (brotli
    first) once it has been checked against the file; otherwise uncompressed.
    DIRECTORY defaults to --out (site/). Ctrl-C stops the server.
    """
    out_given = click.get_current_context().get_parameter_source("out") is not click.core.ParameterSource.DEFAULT
    if directory is not None and out_given and directory.resolve() != Path(kwargs["out"]).resolve():
        raise click.UsageError(f"DIRECTORY ({directory}) and --out ({kwargs['out']}) name the folder to serve "
                               "(and, with --build, to build into): give one of them")

    context = click.get_current_context()
    build_options = [_spelling(param, kwargs[param.name])
                     for param in context.command.params if param.name in kwargs and param.name != "out"
                     and context.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT]

    def action() -> None:
        from builder.serve import make_server, url_of

        if build_options and not rebuild:
            raise OptionError(f"{', '.join(build_options)}: build options, used only with --build (build the "
                                  "site first, then serve it); without it, serve shows the site as it was built")
        site = directory or kwargs["out"]
        if rebuild:
            options = _options_from({**kwargs, "out": site})
            server = make_server(site, port=port, built=False)  # a busy port fails before the build, not after
            try:
                _do_build(options, quiet)
            except BaseException:
                server.server_close()
                raise
        else:
            server = make_server(site, port=port)
        try:
            interrupts.raise_if_seen()  # a Ctrl-C during the build that a library swallowed: no serving
        except KeyboardInterrupt:
            server.server_close()
            raise
        click.echo(f"Serving {site}/ at {url_of(server)} (Ctrl-C to stop)")
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:  # the way a preview ends: not a failure
            interrupts.handled()
            click.echo("\nStopped.")
        finally:
            server.server_close()

    _run(verbose, quiet, action)


@cli.group()
def deploy() -> None:
    """Publish a built site: to a GitHub Pages branch, or to Firebase Hosting.

    The site must be a complete, fresh build: deploy refuses a missing site, one
    whose model or labels file changed since it was built, a file whose size or
    sha256 differs from report.json's, or files over the host's size limit, before
    any git command or upload. Then `browsernet verify URL --expect SITE` checks that the
    live site is this build and gives Keras's answers.
    Exit code 0 on success, 1 on failure.
    """


@deploy.command("github-pages")
@click.argument("site", required=False, default=Path("site"), type=click.Path(path_type=Path, file_okay=False))
@click.option("--remote", default="origin", show_default=True, help="Git remote to push to.")
@click.option("--branch", default="gh-pages", show_default=True, help="Branch that Pages serves.")
@click.option("--message", "-m", default=None,
              help="Commit message.  [default: names the model and the browsernet version]")
@click.option("--cname", default=None, metavar="DOMAIN",
              help="Custom domain, written to CNAME.  [default: the build's --cname]")
@click.option("--dry-run", is_flag=True,
              help="Check the site, the repository and the remote, say what would be published, then stop: "
                   "no commit, fetch or push.")
@_verbosity
def deploy_github_pages(site: Path, remote: str, branch: str, message: str | None, cname: str | None,
                        dry_run: bool, verbose: int, quiet: bool) -> None:
    """Commit SITE (default: site/) to BRANCH of the git repository in the current directory and push it.

    The branch gets exactly the site plus .nojekyll (and CNAME), without the
    .br/.gz copies (Pages compresses by itself). Deploying an unchanged site
    makes no commit. Uses the ghp-import library.
    """

    def action() -> None:
        from builder.publish.github_pages import publish as github_pages

        say = _say(quiet)
        result = github_pages(site, remote=remote, branch=branch, message=message, cname=cname, dry_run=dry_run)
        if result.dry_run and result.unchanged and result.unpushed:
            say(f"Dry run: {site}/ checks out; the local {branch} already holds this site, so deploy would commit "
                f"nothing and push {result.commit[:12]}, which {remote} lacks. Nothing was changed.")
        elif result.dry_run and result.unchanged:
            say(f"Dry run: {site}/ checks out; {branch} already holds this site, so deploy would commit nothing. "
                "Nothing was changed.")
        elif result.dry_run:
            where = "onto the existing" if result.remote_has_branch else "as a new"
            say(f"Dry run: {site}/ checks out; deploy would commit {result.files} files {where} branch "
                f"{branch} and push it to {remote}. Nothing was changed.")
            if result.unfetched:
                say(f"{remote}/{branch} has commits not fetched here; the deploy fetches them first and stops if "
                    f"they hold files that no deploy wrote, or they and the local {branch} have diverged.")
        elif not result.changed and not result.pushed:
            say(f"Nothing to deploy: {remote}/{branch} already holds this site ({result.commit[:12]}).")
        elif not result.changed:
            say(f"{branch} already held this site; pushed {result.commit[:12]} to {remote}.")
        else:
            say(f"Committed {site}/ to {branch} ({result.commit[:12]}) and pushed it to {remote}.")
        if result.url:
            say(f"GitHub Pages will serve it at {result.url}")
            if not result.dry_run:
                say(_verify_hint(result.url, site))
        else:
            say(f"{remote} is not a github.com repository, so there is no Pages URL to show.")
            if not result.dry_run:
                say(_verify_hint("URL", site))

    _run(verbose, quiet, action)


def _verify_hint(url: str, site: Path) -> str:
    """The verify command for a deploy; ``url`` "URL" where the host's address is unknown (not on github.com)."""
    where = "its URL" if url == "URL" else url
    command = f"browsernet verify {url} --expect {shlex.quote(str(site))}"
    return f"Once it is live, check that {where} serves this build: {command}"


@deploy.command("firebase")
@click.argument("site", required=False, default=Path("site"), type=click.Path(path_type=Path, file_okay=False))
@click.option("--project", default=None, metavar="ID",
              help="Firebase project ID.  [default: the build's --firebase-project]")
@click.option("--dry-run", is_flag=True, help="Write firebase.json and .firebaserc into SITE, then stop.")
@_verbosity
def deploy_firebase(site: Path, project: str | None, dry_run: bool, verbose: int, quiet: bool) -> None:
    """Write SITE/firebase.json (headers, caching) and deploy SITE with the firebase CLI.

    firebase.json leaves out the .br/.gz copies (Firebase compresses by itself).
    The deploy needs the firebase CLI, logged in (firebase login); without it,
    this writes the config, prints the command to run and exits with code 1.
    """

    def action() -> None:
        from builder.publish.firebase import publish as firebase

        result = firebase(site, project=project, dry_run=dry_run)
        say = _say(quiet and (result.deployed or dry_run))  # a deploy that did not happen is always told
        rc = result.config.parent / ".firebaserc"
        say(f"Wrote {result.config}" + (f" and {rc}" if rc.is_file() else "")
            + (f" (project {result.project})" if result.project else ""))
        if result.deployed:
            say(f"Deployed to Firebase Hosting: {result.url}")
            say(_verify_hint(result.url, site))
        else:
            say(f"Not deployed ({result.reason}). To deploy, run:")
            say(f"  cd {shlex.quote(str(site))} && {shlex.join(result.command)}")

    _run(verbose, quiet, action)


@cli.command()
@click.argument("site", required=False, default=Path("site"), type=click.Path(path_type=Path, file_okay=False))
@click.option("--backends", default="wasm,webgl,cpu", show_default=True,
              help="Comma-separated TF.js backends to measure: wasm, webgl, cpu, webgpu (Chromium then starts "
                   "with its software WebGPU flags; without a WebGPU adapter its rows say so).")
@click.option("--runs", type=click.IntRange(min=3), default=20, show_default=True,
              help="Timed inferences per measurement (at least 3). The harness splits them over its 2 "
                   "alternating rounds, at least 3 in each.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Stop a measurement after this long (after at least 3 runs): the cpu backend is slow.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=Path("bench.json"),
              show_default=True, help="Where to write the figures as JSON (outside SITE: its files are the build's).")
@click.option("--baselines", default="graph,litert,onnx", show_default=True,
              help="Comma-separated conversions of the Keras model to time next to the site's: a TF.js graph "
                   "model, TFLite in LiteRT.js, ONNX in onnxruntime-web (these two on WASM only).")
@click.option("--no-baseline", is_flag=True, help="Skip every baseline (as --baselines '').")
@click.option("--no-native", is_flag=True, help="Skip native Keras.")
@click.option("--profile", "profile_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Also trace the site's model on WASM (every CPU and one thread) with V8's CPU profiler: "
                   "writes each trace to this folder (open it in Perfetto) and prints where each thread's "
                   "time went (WebAssembly kernels, JavaScript, GC). Outside SITE, as --json.")
@_verbosity(quiet="No progress lines: only the table and errors.")
def bench(site: Path, backends: str, runs: int, max_seconds: float, json_path: Path, baselines: str,
          no_baseline: bool, no_native: bool, profile_dir: Path | None, verbose: int, quiet: bool) -> None:
    """Measure SITE (default: site/) in headless Chromium, against other runtimes and native Keras.

    Per backend: load time, first inference, median and p90 latency, navigation to
    first prediction (cold and warm cache, with the warm visit's start-up stages),
    bytes of the first and the return visit (as sent, so compressed where the site
    has .br/.gz copies). Then, in one harness page and alternating rounds, the site's
    model and its baselines (a TF.js graph model, LiteRT.js, onnxruntime-web) on every CPU
    and on one thread: load time, first inference, median and p90, bytes, and whether each
    output matches Keras's (a row that fails or disagrees says so). Prints a table and
    writes the figures as JSON.
    """

    baselines_given = click.get_current_context().get_parameter_source("baselines") \
        is not click.core.ParameterSource.DEFAULT

    def action() -> None:
        from builder.bench.run import BenchOptions, bench as run_bench, check, table, write_json

        if no_baseline and baselines_given:
            raise OptionError(f"--no-baseline skips every baseline, and --baselines {baselines!r} names some "
                                  "to run: give one of them")

        options = BenchOptions(site=site, backends=tuple(b.strip() for b in backends.split(",") if b.strip()),
                               runs=runs, max_seconds=max_seconds, native=not no_native, profile=profile_dir,
                               baselines=() if no_baseline else tuple(b.strip() for b in baselines.split(",")
                                                                      if b.strip()))
        check(options)  # before anything starts, so a mistake costs no run
        given = click.get_current_context().get_parameter_source("json_path") is not click.core.ParameterSource.DEFAULT
        _refuse_inside("--json", json_path, site, None if given else str(json_path), "bench.json")
        if not json_path.resolve().parent.is_dir():
            raise BrowsernetError(f"--json {json_path}: no folder {json_path.resolve().parent} to write it in")
        made = None
        if profile_dir is not None:
            _refuse_inside("--profile", profile_dir, site, example="profile")
            _check_writable_folder("--profile", profile_dir)
            if profile_dir.resolve() in json_path.resolve().parents:  # its trace files could be overwritten
                raise BrowsernetError(f"--json {json_path} is inside the --profile folder {profile_dir}/, where bench "
                                      "writes its trace files; write it elsewhere")
            if not profile_dir.exists():  # made now: one that cannot be is said before the run
                try:
                    profile_dir.mkdir(parents=True)
                except OSError as e:
                    raise BrowsernetError(f"--profile {profile_dir}: cannot be made ({e.strerror or e})") from e
                made = profile_dir
        try:
            result = _with_progress(quiet, f"Benchmarking {site}/ in headless Chromium",
                                    lambda reporter: run_bench(options, reporter))
        except BaseException:
            if made is not None and not any(made.iterdir()):
                made.rmdir()  # nothing was profiled: no empty folder left behind
            raise
        interrupts.raise_if_seen()  # figures from a run the user stopped are not written
        for line in table(result):  # first: a --json that cannot be written loses none of the figures
            click.echo(line)
        write_json(result, json_path)
        _say(quiet)(f"Figures written to {json_path}")

    _run(verbose, quiet, action)


def _check_writable_folder(option: str, folder: Path) -> None:
    """Refuse a folder that cannot be made or written, before a run whose end writes into it."""
    try:
        existing = next(p for p in (folder.resolve(), *folder.resolve().parents) if p.exists())
    except PermissionError as e:  # a folder on the way that this user may not look into
        raise BrowsernetError(f"{option} {folder}: cannot look into {e.filename or folder} (permission denied)") from e
    if not existing.is_dir():
        raise BrowsernetError(f"{option} {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BrowsernetError(f"{option} {folder}: cannot write in {existing} (permission denied)")


def _refuse_inside(option: str, path: Path, site: Path, default: str | None = None, example: str = "") -> None:
    """Refuse an output ``path`` (``--json``, ``--profile``) inside a site folder, or a file that is one of the
    site's under another name (a hard link): every file there is the build's (report.json is its record, and
    deploy refuses a folder holding anything else), so writing one would overwrite or spoil the site. And a file
    the site was built from (its model, weights or labels file)."""
    if not site.is_dir():
        return
    where = path.resolve()
    given = f"the default {option} {default} (in the current folder)" if default else f"{option} {path}"
    beside = shlex.quote(os.path.relpath(site.resolve().parent / (example or path.name)))  # beside the site, from here
    # By the folder's identity, not its spelling: a case-insensitive file system (macOS) spells it two ways.
    if any(folder.exists() and folder.samefile(site) for folder in (where, *where.parents)):
        raise BrowsernetError(f"{given} is inside the site folder {site}/, whose files are the build's; "
                              f"write it elsewhere ({option} {beside})")
    # A hard link is a file with more than one name: only then is the site searched for the other.
    if where.is_file() and where.stat().st_nlink > 1 and any(where.samefile(file) for file in site.rglob("*")
                                                             if file.is_file()):
        raise BrowsernetError(f"{given} is a file of the site folder {site}/ under another name (a hard link), "
                              f"whose files are the build's; write it elsewhere")
    # The model, weights and labels files the site was built from (report.json's sources): overwritten, the model
    # would be lost, and every later bench, verify and deploy would call the site stale.
    from builder import report as reports

    if where.is_file():
        for role, record in ((reports.read(site) or {}).get("sources") or {}).items():
            source = reports.source_path(record, site)
            if source is not None and source.is_file() and where.samefile(source):
                raise BrowsernetError(f"{given} is the {role} file {site}/ was built from; write it elsewhere "
                                      f"({option} {beside})")


@cli.command()
@click.argument("target", metavar="URL|SITE")
@click.option("--backends", default="auto,wasm", show_default=True, metavar="LIST",
              help="Comma-separated: auto (the backend the page picks), webgpu, webgl, wasm, cpu. Each gets a "
                   "visit. webgpu starts Chromium with its software WebGPU flags, and stops with one line "
                   "if Chromium offers no WebGPU adapter.")
@click.option("--json", "json_file", type=click.File("w"), default=None, metavar="FILE",
              help="Also write the checks as JSON to FILE ('-': stdout, and the table goes to stderr); not inside "
                   "SITE, whose files are the build's.")
@click.option("--timeout", type=click.FloatRange(1), default=180.0, show_default=True,
              help="Seconds a visit may take to become ready, 1 to 86400 (report.json, fetched first, at most 30).")
@click.option("--expect", metavar="SITE", default=None,
              help="For a URL: the local site folder whose build the host should serve (the one you deployed). "
                   "Files and answers are then checked against its report.json, not the host's, and Right files "
                   "fails if the host serves another build.")
@_verbosity(quiet="No progress lines: only the table of checks and errors.")
def verify(target: str, backends: str, json_file: Any, timeout: float, expect: str | None, verbose: int,
           quiet: bool) -> None:
    """Check a deployed site (URL) or a built site folder (SITE) in headless Chromium.

    \b
    Loads          the page becomes ready on each backend; which one runs
    Right files    every file of the build (model files first) is the one
                   report.json records (sha256, not an HTML fallback page),
                   as fetched and as the page received it; with --expect SITE,
                   SITE's report.json
    Right answers  the page's probabilities on the build's reference images are
                   Keras's, within the build's tolerance (1e-3 on WebGL), under
                   the build's labels
    Private        no request leaves the site's origin, no CSP violation, no
                   console error
    Host           cross-origin isolated (headers or the service worker), WASM
                   threads, .wasm served as application/wasm
    Return visit   a second visit downloads no model bytes
    Offline        with the network cut off, the page reloads and classifies

    A folder is served by browsernet's preview server (as `browsernet serve`). Prints
    one line per check, ✓ or ✗ with the reason. Exit code 0 only when every check
    passes, 1 otherwise (or when the site cannot be verified at all).
    """

    def action() -> bool:
        from builder.verify.run import (VerifyOptions, check_options, check_target, table, verify as run_verify,
                                        write_json)

        options = VerifyOptions(target=target, timeout=timeout, expect=expect,
                                backends=tuple(b.strip() for b in backends.split(",") if b.strip()))
        check_options(options)
        to_stderr = json_file is not None and getattr(json_file, "name", "") == "<stdout>"
        if json_file is not None and not to_stderr:  # opened at its first write: check its folder now
            for site in (target, expect):
                if site is not None and "://" not in site:
                    _refuse_inside("--json", Path(json_file.name), Path(site), example="verify.json")
            if Path(json_file.name).is_dir():
                raise BrowsernetError(f"--json {json_file.name}: a folder; give a file to write (--json "
                                      f"{Path(json_file.name) / 'verify.json'})")
            folder = Path(json_file.name).resolve().parent
            if not folder.is_dir():
                raise BrowsernetError(f"--json {json_file.name}: no folder {folder} to write it in")
        try:
            check_target(target)  # before the line that says it is verifying it
            result = _with_progress(quiet, f"Verifying {target} in headless Chromium",
                                    lambda reporter: run_verify(options, reporter))
        except BrowsernetError as e:
            # A CI step that reads the JSON from stdout gets the failure too, not empty input; a --json FILE is
            # left unwritten (nothing half-made), and the exit code says it failed.
            if to_stderr:
                json.dump({"target": target, "url": None, "ok": False, "error": str(e), "checks": [], "visits": []},
                          json_file, indent=2)
                json_file.write("\n")
            raise
        interrupts.raise_if_seen()  # checks from a run the user stopped are not reported as a verdict
        for line in table(result):
            click.echo(line, err=to_stderr)
        if json_file is not None:
            write_json(result, json_file)
        return result.ok

    if not _run(verbose, quiet, action):
        sys.exit(1)


def main() -> None:
    code: Any = 1
    try:
        cli(prog_name="browsernet")  # click's standalone mode: it ends in SystemExit with the exit status
    except SystemExit as e:
        code = e.code
        raise
    finally:
        # The command is over: a Ctrl-C during the interpreter's shutdown changes nothing that is left to stop.
        interrupts.exit_on_signal(code if isinstance(code, int) else 0 if code is None else 1)


if __name__ == "__main__":
    main()
