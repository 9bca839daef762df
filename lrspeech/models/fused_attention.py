"""FastSpeech attention through torch's fused scaled_dot_product_attention (training and synthesis).

Usage: python -c "from lrspeech.models.fused_attention import fuse_attention; help(fuse_attention)"

Why: ESPnet's `MultiHeadedAttention` builds softmax(QK^T / sqrt(d)) with its mask as separate
tensor operations over a (batch, heads, T, T) tensor. FastSpeech2's decoder attends over every
mel frame (up to ~1000 per clip), and on a CPU those passes over memory are most of its
training step. The class has its own switch, `use_sdpa`: the same weights and the same
function, computed by `torch.nn.functional.scaled_dot_product_attention`. Turning it on is all
this module does (ESPnet's classes are used as they are).

Only where nothing reads the attention weights: the fused kernel does not return them, and
the module's `.attn` stays None. FastSpeech and FastSpeech2 take their durations as input and
never read them; Transformer-TTS's guided attention loss does, and so do ESPnet's attention
plots (`--num_att_plot`), so those keep ESPnet's own computation. Subclasses that override
`forward` (the Conformer's relative-position attention) ignore the switch and are left alone.
`--fused_attention false` (or `fused_attention: false` in the config) trains with ESPnet's own
computation; a TTS packed from that config synthesizes with it too (lrspeech.models.packing).
Measured in docs/benchmarks.md ("Fused attention for FastSpeech2").
"""

import argparse
import logging
from typing import Any

from espnet2.tasks.tts import TTSTask
from espnet2.tts.fastspeech import FastSpeech
from espnet2.tts.fastspeech2 import FastSpeech2
from espnet2.utils.types import str2bool
from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention

logger = logging.getLogger(__name__)

FUSABLE = (FastSpeech, FastSpeech2)
OPTION = "fused_attention"


def fuse_attention(model: Any) -> int:
    """Route a FastSpeech model's attention layers through torch's SDPA; return how many.

    `model` is an ESPnet TTS model (ESPnetTTSModel, whose `.tts` is the network) or the
    network itself. Other TTS families are returned unchanged (0).
    """
    tts = getattr(model, "tts", model)
    if not isinstance(tts, FUSABLE):
        return 0
    count = 0
    for module in tts.modules():
        if (isinstance(module, MultiHeadedAttention) and not module.use_flash_attn
                and type(module).forward is MultiHeadedAttention.forward):
            module.use_sdpa = True
            count += 1
    return count


def wants_fusion(args: argparse.Namespace) -> bool:
    """A training config's `fused_attention` (as ESPnet's Namespace); configs without it: True."""
    return bool(getattr(args, OPTION, True))


class FusedAttentionTTSTask(TTSTask):
    """ESPnet's TTSTask; FastSpeech models it builds attend through torch's fused SDPA.

    Not with `--fused_attention false`, nor when attention plots are asked for
    (`--num_att_plot` > 0): they read the weights. Defined at module level so that ESPnet's
    worker processes can pickle it.
    """

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_task_arguments(parser)
        group = parser.add_argument_group(description="lrspeech")
        group.add_argument(f"--{OPTION}", type=str2bool, default=True,
                           help="FastSpeech attention through torch's scaled_dot_product_attention "
                                "(the same function, faster; lrspeech.models.fused_attention)")

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> Any:
        model = super().build_model(args)
        if not wants_fusion(args):
            return model
        if getattr(args, "num_att_plot", 0):
            logger.info("attention plots asked for (--num_att_plot %s): ESPnet's own attention",
                        args.num_att_plot)
            return model
        count = fuse_attention(model)
        if count:
            logger.info("%d attention layers use torch's scaled_dot_product_attention", count)
        return model
