# How jobs run: utils/run.pl on this machine, utils/slurm.pl on a Slurm cluster.
# Usage: . ./cmd.sh  (run.sh does it). Pick one block; the options after the runner go to every job.
cmd_backend=${LRSPEECH_CMD_BACKEND:-local}
if [ "${cmd_backend}" = local ]; then
    train_cmd="${lr_root}/utils/run.pl"
    decode_cmd="${lr_root}/utils/run.pl"
elif [ "${cmd_backend}" = slurm ]; then
    # conf/slurm.conf (optional) maps --gpu/--mem/--time to your partitions.
    train_cmd="${lr_root}/utils/slurm.pl --time 24:00:00"
    decode_cmd="${lr_root}/utils/slurm.pl --time 4:00:00"
else
    echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local|slurm)" >&2; exit 1
fi
