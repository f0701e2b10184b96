/*
 * The traced process tree (`socktrace run`): a new process joins when its
 * parent is in the tree, and leaves when its last thread exits. Attached
 * only when the session has a tree filter.
 */
#include "common.bpf.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child) {
  __u32 ptgid = parent->tgid, ctgid = child->tgid;
  __u8 one = 1;

  if (ctgid != ptgid && bpf_map_lookup_elem(&tree, &ptgid))
    bpf_map_update_elem(&tree, &ctgid, &one, BPF_ANY);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *p) {
  __u32 tgid = p->tgid;

  if (!p->signal->live.counter)
    bpf_map_delete_elem(&tree, &tgid);
  return 0;
}
