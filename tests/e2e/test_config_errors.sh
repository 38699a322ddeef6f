#!/usr/bin/env bash
# Config mistakes under `mpiexec -n 2`: a misspelled section, an unknown key (top level or in a section),
# an unterminated [header, a key given twice, a boolean or a list where one integer goes, an integer out
# of range, a config (or --task) naming another task than the store's or the model's, and an unknown
# command — each exactly one "error:" line naming the mistake, a non-zero exit, and no work done.
source "$(dirname "$0")/lib.sh"
S=("$SIMBI")
DATA="$SIMBI_SOURCE/examples/data/two_moons/obs1"

"${MPI2[@]}" "${S[@]}" -q simulate --task two_moons --budget 300 --out sims.h5 >/dev/null
"${MPI2[@]}" "${S[@]}" -q train --data sims.h5 --method cpvae --out model.pt --max-epochs 1 --checkpoint-every-epochs 0 \
  >/dev/null
T=("${MPI2[@]}" "${S[@]}" train --data sims.h5 --out m.pt)
no_work() { [ ! -e m.pt ] && [ ! -e m.pt.ckpt ] || fail "$1: a refused training wrote m.pt or its checkpoint"; }

printf 'method = "cpvae"\n[trian]\nmax-epochs = 2\n' >section.toml
expect_error "misspelled section" \
  "config section.toml: line 2: unknown section \[trian\]; did you mean \[train\]\? \(sections are the commands: .*simulate, .*train, .*sample" \
  "${T[@]}" --config section.toml
no_work "misspelled section"

printf 'method = "cpvae"\nmax_epochs = 2\n' >top.toml
expect_error "unknown top-level key" \
  "config top.toml: line 2: unknown key 'max_epochs' at the top level \(no command has an option --max_epochs; nearest valid keys: max-epochs" \
  "${T[@]}" --config top.toml
printf 'method = "cpvae"\nfrobnicate = 2\n' >top_far.toml
expect_error "unknown top-level key, nothing near" "unknown key 'frobnicate' at the top level \(no command has an option --frobnicate\)" \
  "${T[@]}" --config top_far.toml
no_work "unknown top-level key"

printf 'method = "cpvae"\n[train]\nmax-epoch = 2\n' >key.toml
expect_error "unknown key in a section" \
  "config key.toml: line 3: unknown key 'max-epoch' in \[train\] \(\`simbi train\` has no option --max-epoch; nearest valid keys: max-epochs" \
  "${T[@]}" --config key.toml
# A key of another command's section is checked too, whichever command reads the file.
printf 'method = "cpvae"\n[sample]\nnum-sample = 10\n' >other_key.toml
expect_error "unknown key in another command's section" "line 3: unknown key 'num-sample' in \[sample\].*num-samples" \
  "${T[@]}" --config other_key.toml
printf 'method = "cpvae"\n[simulate]\nmax-epochs = 2\n' >wrong_section.toml
expect_error "a train key in [simulate]" "unknown key 'max-epochs' in \[simulate\] \(\`simbi simulate\` has no option --max-epochs" \
  "${T[@]}" --config wrong_section.toml
no_work "unknown key in a section"

printf 'method = "cpvae"\n[train\nmax-epochs = 2\n' >header.toml
expect_error "unterminated header" "config header.toml: line 2: unterminated section header '\[train'" \
  "${T[@]}" --config header.toml
no_work "unterminated header"

printf 'method = "cpvae"\n[train]\nmax-epochs = 2\nbatch-size = 64\nmax-epochs = 5\n' >dup.toml
expect_error "duplicate key" "config dup.toml: key max-epochs given twice in \[train\] \(lines 3 and 5\)" \
  "${T[@]}" --config dup.toml
printf 'method = "cpvae"\n[train]\nmax-epochs = 2\n[train]\nbatch-size = 64\n' >dup_section.toml
expect_error "duplicate section" "config dup_section.toml: line 4: section \[train\] given twice \(lines 2 and 4\)" \
  "${T[@]}" --config dup_section.toml
no_work "duplicate key"

printf 'method = "cpvae"\n[train]\nmax-epochs = true\n' >bool.toml
expect_error "boolean for an integer option" "config bool.toml: max-epochs: expected an integer in \[0, 1000000000\], got true" \
  "${T[@]}" --config bool.toml
printf 'method = "cpvae"\n[train]\nlr = true\n' >bool_float.toml
expect_error "boolean for a number option" "config bool_float.toml: lr: expected a number, got true" \
  "${T[@]}" --config bool_float.toml
printf 'method = "cpvae"\n[train]\nmax-epochs = [1, 2]\n' >list.toml
expect_error "list for a one-value option" "config list.toml: max-epochs: expected one value, got a list \[1, 2\]" \
  "${T[@]}" --config list.toml
printf 'method = "cpvae"\n[train]\nmax-epochs = -3\n' >negative.toml
expect_error "negative integer in a config" "config negative.toml: max-epochs: expected an integer in \[0, 1000000000\], got -3" \
  "${T[@]}" --config negative.toml
printf 'method = "cpvae"\n[train]\nresume = 1\n' >flag.toml
expect_error "non-boolean for a flag" "config flag.toml: resume: expected true or false, got 1" \
  "${T[@]}" --config flag.toml
no_work "wrong kind of value"

# `simbi run` checks the whole file before its first stage: nothing is simulated.
printf 'task = "two_moons"\nmethod = "cpvae"\n[simulate]\nbudget = 300\n[sample]\nnum-samples = -1\n' >run.toml
expect_error "run: a bad [sample] value stops it before simulating" \
  "config run.toml: num-samples: expected an integer in \[0, 1000000000\], got -1" \
  "${MPI2[@]}" "${S[@]}" run --config run.toml --workdir rundir
[ ! -e rundir/sims.h5 ] || fail "run simulated despite a bad config"

# The config's task (or --task) against the store's and the model's.
printf 'task = "slcp"\nmethod = "cpvae"\n[train]\nmax-epochs = 1\n' >slcp.toml
expect_error "train: config task vs the store's" \
  "task mismatch: sims.h5 holds simulations of task 'two_moons', but --task \(or the config's task\) is 'slcp'" \
  "${T[@]}" --config slcp.toml
expect_error "train: --task vs the store's" "task mismatch: sims.h5 holds simulations of task 'two_moons'.* is 'gaussian_linear'" \
  "${T[@]}" --method cpvae --task gaussian_linear
no_work "task mismatch"
expect_error "sample: config task vs the model's" \
  "task mismatch: model.pt was trained on task 'two_moons', but --task \(or the config's task\) is 'slcp'" \
  "${MPI2[@]}" "${S[@]}" sample --model model.pt --observation "$DATA/observation.csv" --config slcp.toml --out s.csv
[ ! -e s.csv ] || fail "a refused sample wrote samples"
# The matching task passes.
printf 'task = "two_moons"\nmethod = "cpvae"\n[train]\nmax-epochs = 1\ncheckpoint-every-epochs = 0\n' >ok.toml
"${MPI2[@]}" "${S[@]}" -q train --data sims.h5 --out m.pt --config ok.toml >/dev/null || fail "a config with the store's task was refused"
[ -e m.pt ] || fail "the matching config did not train"
echo "ok: a config naming the store's task trains"

expect_error "unknown command" "unknown command 'frobnicate' \(commands: tasks, simulate, .*train, sample" \
  "${MPI2[@]}" "${S[@]}" frobnicate --task two_moons
expect_error "misspelled command" "unknown command 'simulat'; did you mean 'simulate'\?" "${S[@]}" -q simulat
echo "all config-error cases passed"
