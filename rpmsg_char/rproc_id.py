"""Remote processor ids, numbered exactly as TI's `enum rproc_id` (include/rproc_id.h).

Programs pass these numbers on the command line (`rpmsg_char_simple -r 9`), so the values are
part of the interface and must never be renumbered.
"""

import enum


class RProcId(enum.IntEnum):
    R5F_MCU0_0 = 0
    R5F_MCU0_1 = 1
    R5F_MAIN0_0 = 2
    R5F_MAIN0_1 = 3
    R5F_MAIN1_0 = 4
    R5F_MAIN1_1 = 5
    DSP_C66_0 = 6
    DSP_C66_1 = 7
    DSP_C71_0 = 8
    M4F_MCU0_0 = 9
    DSP_C71_1 = 10
    R5F_MAIN2_0 = 11
    R5F_MAIN2_1 = 12
    DSP_C71_2 = 13
    DSP_C71_3 = 14
    R5F_WKUP0_0 = 15


RPROC_ID_MAX = 16
"""TI's sentinel: one past the last valid id."""
