/*
 * What a leader knows about each peer (match and next index, §5.3) and what
 * a candidate knows about each peer's vote, kept in one small array indexed
 * by position, in ascending id order. Clusters are small (3 to 7 nodes), so
 * a sorted array beats any map.
 */
#ifndef TKV_RAFT_PROGRESS_H
#define TKV_RAFT_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RAFT_VOTE_UNKNOWN = 0,
    RAFT_VOTE_GRANTED,
    RAFT_VOTE_REJECTED,
} raft_vote_t;

typedef struct {
    uint64_t id;
    uint64_t match; /* highest index known to be replicated on the peer */
    uint64_t next;  /* index of the next entry to send */
    raft_vote_t vote;
    int replicating;   /* 1 once the peer acknowledged: stream, do not probe */
    int recent_active; /* check quorum (2X): heard from since the last check */
} raft_progress_t;

typedef struct {
    raft_progress_t *items; /* owned; sorted by id */
    size_t n, cap;
} raft_progress_set_t;

void prs_init(raft_progress_set_t *s);
void prs_free(raft_progress_set_t *s);
/* Borrowed until the set next changes; NULL when id is not a member. */
raft_progress_t *prs_find(raft_progress_set_t *s, uint64_t id);
/* Adds id (no-op if present) and returns its progress (borrowed). */
raft_progress_t *prs_add(raft_progress_set_t *s, uint64_t id, uint64_t match, uint64_t next);
/* Returns 1 if id was a member. */
int prs_remove(raft_progress_set_t *s, uint64_t id);
/* Votes needed to win or to commit: a majority of the members. */
size_t prs_quorum(const raft_progress_set_t *s);
/* The highest index replicated on a quorum (the quorum-th largest match). */
uint64_t prs_quorum_match(const raft_progress_set_t *s);
/* Counts of granted and rejected votes. */
void prs_tally(const raft_progress_set_t *s, size_t *granted, size_t *rejected);

#endif
