#!/usr/bin/env perl
# Run a command, or an array of N commands, as local background jobs with one log per job.
#
# Usage:
#   utils/run.pl [options] JOB=1:4 exp/log/decode.JOB.log lrspeech-decode --part JOB --nparts 4
#   utils/run.pl exp/log/stats.log python -m lrspeech.bin.collect_stats data/train
#
# The interface is Kaldi's, so cmd.sh can switch between run.pl and slurm.pl:
#   JOB=a:b             run jobs a..b; the name (JOB here, any [A-Za-z_]\w*) is replaced by the
#                       job number in the log path and in every argument of the command.
#   --max-jobs-run N    at most N jobs at once (default: the number of CPU cores); --nj-max N is
#                       the same option.
#   --gpu N, --mem M, --time T, --partition P, --num-threads N, --num-nodes N, --config F
#                       scheduler options; accepted and ignored so that slurm.pl options work here.
# Each log starts with the command and the start time and ends with the exit status and the
# elapsed time. The exit status is 0 when every job succeeded; otherwise 1, after naming the
# failed jobs and their logs on stderr. Arguments without whitespace are passed to bash as is
# (so "|" makes a pipe); arguments with whitespace are quoted.

use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use POSIX qw(strftime :sys_wait_h);
use Time::HiRes qw(time);

my $prog = "run.pl";
my %ignored = map { $_ => 1 } qw(gpu mem time partition num-threads num_threads num-nodes num_nodes config);

# Print the message on stderr and exit 1 (die would exit with errno).
sub fail {
    print STDERR @_;
    exit(1);
}

sub usage {
    fail "Usage: $prog [--max-jobs-run N] [JOB=1:N] <log-file> <command> [args...]\n"
      . "e.g.:  $prog JOB=1:4 exp/log/job.JOB.log echo JOB\n";
}

sub num_cores {
    # nproc obeys OMP_NUM_THREADS, which the recipes set to 1 for every job: ask without it.
    if (open(my $fh, "-|", "env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null")) {
        my $n = <$fh>;
        close($fh);
        return $1 if defined $n && $n =~ /^(\d+)/ && $1 > 0;
    }
    return 1;
}

# Options first, as in Kaldi: --name value pairs.
my $max_jobs = num_cores();
while (@ARGV && $ARGV[0] =~ /^--([\w-]+)(?:=(.*))?$/) {
    my ($name, $value) = ($1, $2);
    shift @ARGV;
    if (!defined $value) {
        fail "$prog: option --$name needs a value\n" unless @ARGV;
        $value = shift @ARGV;
    }
    if ($name eq "max-jobs-run" || $name eq "max_jobs_run" || $name eq "nj-max" || $name eq "nj_max") {
        fail "$prog: --$name expects a positive integer, got '$value'\n" unless $value =~ /^\d+$/ && $value > 0;
        $max_jobs = $value;
    } elsif (!$ignored{$name}) {
        fail "$prog: unknown option --$name; valid: --max-jobs-run (--nj-max), and the ignored "
          . "scheduler options --gpu --mem --time --partition --num-threads --num-nodes --config\n";
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

sub substitute {
    my ($text, $n) = @_;
    $text =~ s/\Q$jobname\E/$n/g if defined $jobname;
    return $text;
}

sub stamp { return strftime("%Y-%m-%d %H:%M:%S %z", localtime()); }

# In the child: run one job with header and footer in its log; exit with the job's status.
sub run_job {
    my ($n) = @_;
    my $log = substitute($logfile, $n);
    my $jobcmd = substitute($cmd, $n);
    my $dir = dirname($log);
    eval { make_path($dir) unless -d $dir; 1 } or do {
        print STDERR "$prog: cannot create the log directory '$dir': $@";
        POSIX::_exit(1);
    };
    my $fh;
    unless (open($fh, ">", $log)) {
        print STDERR "$prog: cannot write the log file '$log': $!\n";
        POSIX::_exit(1);
    }
    my $t0 = time();
    print $fh "# $jobcmd\n# Started at " . stamp() . " on host " . (POSIX::uname())[1] . "\n#\n";
    close($fh);
    open(STDIN, "<", "/dev/null");
    open(STDOUT, ">>", $log) or POSIX::_exit(1);
    open(STDERR, ">&", \*STDOUT) or POSIX::_exit(1);
    system("bash", "-o", "pipefail", "-c", $jobcmd);
    my $status = $? == -1 ? 127 : ($? & 127 ? 128 + ($? & 127) : $? >> 8);
    my $elapsed = int(time() - $t0 + 0.5);
    if (open($fh, ">>", $log)) {
        print $fh "#\n# Accounting: time=$elapsed threads=1\n";
        print $fh "# Ended (code $status) at " . stamp() . ", elapsed time $elapsed seconds\n";
        close($fh);
    }
    POSIX::_exit($status > 255 ? 255 : $status);
}

my %running;    # pid -> job number
my %failed;     # job number -> exit status

# Stop every job (each runs in its own process group) if we are interrupted.
sub stop_all {
    my ($sig) = @_;
    kill("TERM", map { -$_ } keys %running);
    print STDERR "$prog: got SIG$sig, stopped " . scalar(keys %running) . " running job(s)\n";
    exit(1);
}
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = \&stop_all;

sub reap_one {
    my $pid = waitpid(-1, 0);
    return if $pid <= 0 || !exists $running{$pid};
    my $n = delete $running{$pid};
    $failed{$n} = $? >> 8 || 1 if $? != 0;
}

for my $n ($start .. $end) {
    reap_one() while keys(%running) >= $max_jobs;
    my $pid = fork();
    fail "$prog: fork failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        $SIG{INT} = $SIG{TERM} = $SIG{HUP} = 'DEFAULT';
        POSIX::setpgid(0, 0);
        run_job($n);
    }
    $running{$pid} = $n;
}
reap_one() while keys %running;

my @bad = sort { $a <=> $b } keys %failed;
exit(0) unless @bad;
my $total = $end - $start + 1;
if (defined $jobname) {
    print STDERR "$prog: " . scalar(@bad) . " / $total failed:\n";
} else {
    print STDERR "$prog: job failed:\n";
}
for my $n (@bad) {
    my $label = defined $jobname ? "$jobname=$n" : "command";
    print STDERR "  $label exited with status $failed{$n}, log is in " . substitute($logfile, $n) . "\n";
}
exit(1);
