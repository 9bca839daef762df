#!/usr/bin/env perl
# Run a command, or an array of N commands, as a Slurm job array; wait and propagate the status.
#
# Usage:
#   utils/slurm.pl [options] JOB=1:4 exp/log/decode.JOB.log lrspeech-decode --part JOB --nparts 4
#   utils/slurm.pl --gpu 1 --time 24:00:00 exp/log/train.log python -m espnet2.bin.asr_train ...
#   LRSPEECH_SLURM_DRY_RUN=1 utils/slurm.pl JOB=1:2 log/x.JOB.log echo JOB   # print, submit nothing
#
# Same interface as utils/run.pl (Kaldi's), so cmd.sh can switch between them. Options:
#   --gpu N  --mem SIZE  --time T  --partition P  --num-threads N  --num-nodes N
#                       mapped to sbatch options by the config (below); other names work when the
#                       config defines them (e.g. `option account=* --account=$0`).
#   --max-jobs-run N    at most N array tasks at once (sbatch --array=a-b%N); --nj-max N is the same.
#   --config FILE       the config; default conf/slurm.conf when it exists, else the built-in one.
#   --dry-run [true]    print the sbatch command, the batch script and every task's command; submit
#                       nothing. The environment variable LRSPEECH_SLURM_DRY_RUN=1 does the same.
# Config format (Kaldi's): `command sbatch ARGS` is the submit command; `option NAME=VALUE ARGS`
# gives the sbatch arguments for that exact value; `option NAME=* ARGS` for any value, with $0
# replaced by the value; `default NAME=VALUE` applies when the option is not given.
#
# Each task writes its log (header with the command and start time, footer with exit code and
# elapsed time) and an exit-status file under <logdir>/q/; this script polls for those files
# (every LRSPEECH_SLURM_POLL seconds, default 10), asks squeue whether the job still exists, and
# exits 1 naming the failed tasks and their logs if any task failed or vanished (e.g. killed by
# Slurm for time or memory). Interrupting it cancels the job with scancel.

use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use File::Spec;
use Time::HiRes qw(sleep time);

my $prog = "slurm.pl";
my $default_config = <<'EOF';
command sbatch --export=ALL --ntasks-per-node=1
option name=* --job-name=$0
option time=* --time=$0
option mem=* --mem=$0
option num_threads=* --cpus-per-task=$0
option num_nodes=* --nodes=$0
option partition=* --partition=$0
default gpu=0
option gpu=0
option gpu=* --gres=gpu:$0
EOF

sub fail {
    print STDERR @_;
    exit(1);
}

sub usage {
    fail "Usage: $prog [options] [JOB=1:N] <log-file> <command> [args...]\n"
      . "e.g.:  $prog --gpu 1 JOB=1:4 exp/log/job.JOB.log echo JOB\n";
}

# ---- command line ------------------------------------------------------------------------------
my %opts;    # option name (underscores) -> value, as given on the command line
my ($max_jobs, $config_file) = (undef, undef);
my $dry_run = ($ENV{LRSPEECH_SLURM_DRY_RUN} // "") =~ /^(1|true|yes)$/ ? 1 : 0;
while (@ARGV && $ARGV[0] =~ /^--([\w-]+)(?:=(.*))?$/) {
    my ($name, $value) = ($1, $2);
    shift @ARGV;
    $name =~ s/-/_/g;
    if ($name eq "dry_run") {
        if (!defined $value && @ARGV && $ARGV[0] =~ /^(true|false)$/) { $value = shift @ARGV; }
        $dry_run = (!defined $value || $value eq "true") ? 1 : 0;
        next;
    }
    if (!defined $value) {
        fail "$prog: option --$name needs a value\n" unless @ARGV;
        $value = shift @ARGV;
    }
    if ($name eq "max_jobs_run" || $name eq "nj_max") {
        fail "$prog: --$name expects a positive integer, got '$value'\n" unless $value =~ /^\d+$/ && $value > 0;
        $max_jobs = $value;
    } elsif ($name eq "config") {
        $config_file = $value;
    } else {
        $opts{$name} = $value;
    }
}

my ($jobname, $start, $end) = (undef, 1, 1);
if (@ARGV && $ARGV[0] =~ /^([A-Za-z_]\w*)=(\d+):(\d+)$/) {
    ($jobname, $start, $end) = ($1, $2, $3);
    shift @ARGV;
    fail "$prog: bad job range $jobname=$start:$end: the end is before the start\n" if $end < $start;
} elsif (@ARGV && $ARGV[0] =~ /^([A-Za-z_]\w*)=(\d+)$/) {
    ($jobname, $start, $end) = ($1, $2, $2);
    shift @ARGV;
} elsif (@ARGV && $ARGV[0] =~ /^[A-Za-z_]\w*=/) {
    fail "$prog: bad job range '$ARGV[0]'; expected e.g. JOB=1:4\n";
}
usage() if @ARGV < 2;
my $logfile = shift @ARGV;
if (defined $jobname && $end > $start && $logfile !~ /\Q$jobname\E/) {
    fail "$prog: the log file '$logfile' does not contain '$jobname'; all $jobname jobs would write "
      . "the same log (use e.g. exp/log/x.$jobname.log)\n";
}

# Kaldi's quoting: whitespace-free words pass through (so '|' and '>' work), others are quoted.
my $cmd = "";
foreach my $x (@ARGV) {
    if ($x =~ /^\S+$/) { $cmd .= "$x "; }
    elsif ($x =~ /"/)  { $cmd .= "'$x' "; }
    else               { $cmd .= "\"$x\" "; }
}
$cmd =~ s/ $//;

# Single-quote a string for bash.
sub shq {
    my ($s) = @_;
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

sub substitute {
    my ($text, $n) = @_;
    $text =~ s/\Q$jobname\E/$n/g if defined $jobname;
    return $text;
}

# ---- config ------------------------------------------------------------------------------------
my ($config_text, $config_name) = ($default_config, "the built-in slurm.pl config");
$config_file = "conf/slurm.conf" if !defined $config_file && -f "conf/slurm.conf";
if (defined $config_file) {
    open(my $fh, "<", $config_file) or fail "$prog: cannot read the config '$config_file': $!\n";
    local $/;
    $config_text = <$fh>;
    close($fh);
    $config_name = $config_file;
}

my ($submit, %exact, %wild, %defaults) = ("");
my $lineno = 0;
for my $line (split /\n/, $config_text) {
    $lineno++;
    $line =~ s/\s*#.*$//;
    next if $line =~ /^\s*$/;
    if ($line =~ /^\s*command\s+(\S.*?)\s*$/) {
        $submit = $1;
    } elsif ($line =~ /^\s*option\s+(\w+)=(\S+)\s*(.*?)\s*$/) {
        if ($2 eq "*") { $wild{$1} = $3; } else { $exact{"$1=$2"} = $3; }
    } elsif ($line =~ /^\s*default\s+(\w+)=(\S+)\s*$/) {
        $defaults{$1} = $2;
    } else {
        fail "$config_name:$lineno: cannot parse '$line'; expected 'command ...', "
          . "'option name=value args', 'option name=* args' or 'default name=value'\n";
    }
}
fail "$config_name: no 'command' line (e.g. 'command sbatch --export=ALL'); add one\n" if $submit eq "";

my $base = basename($logfile);
$base =~ s/\.log$//;
(my $job_label = $base) =~ s/[^\w.-]/_/g;
$opts{name} //= $job_label;
for my $name (keys %defaults) { $opts{$name} //= $defaults{$name}; }

# sbatch arguments for every option, in a stable order.
my @args;
for my $name (sort keys %opts) {
    my $value = $opts{$name};
    my $args;
    if (exists $exact{"$name=$value"}) {
        $args = $exact{"$name=$value"};
    } elsif (exists $wild{$name}) {
        ($args = $wild{$name}) =~ s/\$0/$value/g;
    } else {
        my @known = sort(keys %wild, map { (split /=/)[0] } keys %exact);
        my %seen;
        @known = grep { !$seen{$_}++ && $_ ne "name" } @known;
        (my $shown = $name) =~ s/_/-/g;
        fail "$prog: option --$shown $value is not in $config_name; known: "
          . join(" ", map { (my $o = "--$_") =~ s/_/-/g; $o } @known)
          . "; add 'option $name=* <sbatch args with \$0>' to the config\n";
    }
    push @args, split(/\s+/, $args) if $args ne "";
}
my ($submit_prog, @submit_args) = split(/\s+/, $submit);
unshift @args, @submit_args;

# One #SBATCH line per option: a word starting with '-' opens a directive, later words join it.
my @directives;
for my $word (@args) {
    if ($word =~ /^-/ || !@directives) { push @directives, $word; }
    else { $directives[-1] .= " $word"; }
}

# ---- generated files ---------------------------------------------------------------------------
my $cwd = getcwd();
my $qdir = File::Spec->rel2abs(File::Spec->catdir(dirname($logfile), "q"), $cwd);
my $prefix = "$qdir/$base";
my $threads = $opts{num_threads} // 1;
my $array = "$start-$end" . (defined $max_jobs ? "%$max_jobs" : "");

my $batch_script = "#!/usr/bin/env bash\n"
  . join("", map { "#SBATCH $_\n" } @directives)
  . "#SBATCH --array=$array\n"
  . "#SBATCH --output=$prefix.%a.slurm.out\n"
  . "# Generated by utils/slurm.pl; each array task runs its own command file.\n"
  . "exec bash \"$prefix.\${SLURM_ARRAY_TASK_ID}.task.sh\"\n";

sub task_script {
    my ($n) = @_;
    my $log = File::Spec->rel2abs(substitute($logfile, $n), $cwd);
    my $task_cmd = substitute($cmd, $n);
    my $status = "$prefix.$n.status";
    my $label = defined $jobname ? "$jobname=$n" : "the command";
    return <<"EOS";
#!/usr/bin/env bash
# Task $n ($label) generated by utils/slurm.pl.
set -o pipefail
cd @{[shq($cwd)]} || exit 1
log=@{[shq($log)]}
mkdir -p "\$(dirname "\$log")"
t0=\$(date +%s)
{
cat <<'LRSPEECH_CMD_EOF'
# $task_cmd
LRSPEECH_CMD_EOF
echo "# Started at \$(date '+%Y-%m-%d %H:%M:%S %z') on host \$(hostname)"
echo "#"
} > "\$log"
( $task_cmd
) >> "\$log" 2>&1 < /dev/null
status=\$?
elapsed=\$(( \$(date +%s) - t0 ))
{
echo "#"
echo "# Accounting: time=\$elapsed threads=$threads"
echo "# Ended (code \$status) at \$(date '+%Y-%m-%d %H:%M:%S %z'), elapsed time \$elapsed seconds"
} >> "\$log"
echo "\$status" > @{[shq("$status.tmp")]} && mv @{[shq("$status.tmp")]} @{[shq($status)]}
exit "\$status"
EOS
}

my @submit_cmd = ($submit_prog, "--parsable", "$prefix.sh");
if ($dry_run) {
    print "# dry run: would submit with\n" . join(" ", @submit_cmd) . "\n";
    print "# ---- $prefix.sh ----\n$batch_script";
    print "# ---- commands ----\n";
    for my $n ($start .. $end) {
        my $label = defined $jobname ? "$jobname=$n" : "command";
        print "# $label (log " . substitute($logfile, $n) . "): " . substitute($cmd, $n) . "\n";
    }
    exit(0);
}

sub write_file {
    my ($path, $text) = @_;
    open(my $fh, ">", "$path.tmp") or fail "$prog: cannot write '$path.tmp': $!\n";
    print $fh $text;
    close($fh) or fail "$prog: cannot write '$path.tmp': $!\n";
    rename("$path.tmp", $path) or fail "$prog: cannot rename '$path.tmp' to '$path': $!\n";
}

eval { make_path($qdir) unless -d $qdir; 1 } or fail "$prog: cannot create '$qdir': $@";
for my $n ($start .. $end) {
    unlink("$prefix.$n.status");    # left by an earlier run
    write_file("$prefix.$n.task.sh", task_script($n));
}
write_file("$prefix.sh", $batch_script);

# ---- submit and wait ---------------------------------------------------------------------------
my $out = `$submit_prog --parsable @{[shq("$prefix.sh")]} 2>&1`;
my $submit_status = $?;
my ($job_id) = $out =~ /^\s*(\d+)/m;
if ($submit_status != 0 || !defined $job_id) {
    fail "$prog: submission failed ('" . join(" ", @submit_cmd) . "' exited with status "
      . ($submit_status >> 8) . "):\n$out";
}

sub cancel {
    my ($sig) = @_;
    system("scancel", $job_id);
    print STDERR "$prog: got SIG$sig, cancelled Slurm job $job_id\n";
    exit(1);
}
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = \&cancel;

# False only when squeue says the job is gone; a failing squeue (controller busy) counts as queued.
sub job_in_queue {
    my $listing = `squeue -h -r -j $job_id -o %i 2>&1`;
    return 0 if $? == 0 && $listing !~ /\S/;
    return 0 if $listing =~ /Invalid job id/i;
    return 1;
}

my $poll = $ENV{LRSPEECH_SLURM_POLL} // 10;
my $grace = 60;     # seconds to wait for status files after the job left the queue (NFS lag)
my $check_every = 60;
my ($last_check, $gone_since) = (time(), undef);
my %status;
while (1) {
    for my $n ($start .. $end) {
        next if exists $status{$n};
        my $file = "$prefix.$n.status";
        next unless -f $file && open(my $fh, "<", $file);
        my $line = <$fh>;
        close($fh);
        $status{$n} = $1 if defined $line && $line =~ /^(\d+)/;
    }
    last if keys(%status) == $end - $start + 1;
    if (defined $gone_since) {
        last if time() - $gone_since > $grace;
    } elsif (time() - $last_check >= $check_every || $poll < 1) {
        $last_check = time();
        if (!job_in_queue()) {
            $gone_since = time();
            $grace = 3 * $poll if $poll < 1;
        }
    }
    sleep($poll);
}

my @bad = grep { !exists $status{$_} || $status{$_} != 0 } ($start .. $end);
exit(0) unless @bad;
print STDERR "$prog: " . scalar(@bad) . " / " . ($end - $start + 1) . " failed (Slurm job $job_id):\n";
for my $n (@bad) {
    my $label = defined $jobname ? "$jobname=$n" : "command";
    my $log = substitute($logfile, $n);
    if (exists $status{$n}) {
        print STDERR "  $label exited with status $status{$n}, log is in $log\n";
    } else {
        print STDERR "  $label left no exit status (killed by Slurm? time or memory limit); "
          . "see $log and $prefix.$n.slurm.out\n";
    }
}
exit(1);
