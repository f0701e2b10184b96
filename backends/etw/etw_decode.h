/*
 * The ETW decoder: one EVENT_RECORD (the header facts below plus the user
 * data bytes) in, one st_event out. Portable C with no Windows headers: the
 * live consumer (etw_consumer_win.c) and the .etl file reader feed it the
 * same bytes, and the tests feed it fixtures on Linux.
 *
 * The decoder is stateless and never reads past the user data. A payload
 * whose length does not match its template becomes a DecodeError (5800)
 * event saying what was wrong, never a crash. Turning AFD's kernel
 * addresses into real pids and stable endpoint ids is the job of
 * etw_state.h, which runs on the decoder's output.
 */
#ifndef ST_ETW_DECODE_H
#define ST_ETW_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Provider GUIDs as Windows lays a GUID out in memory (Data1, Data2, Data3
 * little-endian, then Data4), so a consumer can memcpy a GUID into them. */
extern const uint8_t st_etw_afd_guid[16];     /* {E53C6823-7BB8-44BB-90DC-3F86090D48A6} */
extern const uint8_t st_etw_ws2help_guid[16]; /* {D5C25F9A-4D47-493E-9184-40DD397A004D} */
/* {1C95126E-7EEA-49A9-A3FE-A378B03DDB4D}: 3006, 3008 and 3020 become DnsMessage */
extern const uint8_t st_etw_dns_client_guid[16];

/* What the decoder needs from the EVENT_RECORD header. */
typedef struct st_etw_record {
  uint8_t provider[16]; /* ProviderId, memory layout */
  uint16_t id;          /* EventDescriptor.Id */
  uint8_t version;      /* EventDescriptor.Version */
  uint8_t level;        /* EventDescriptor.Level */
  uint8_t opcode;       /* kept for callers; never used for dispatch */
  uint64_t keywords;    /* EventDescriptor.Keyword */
  uint32_t pid, tid;    /* EventHeader.ProcessId / ThreadId */
  uint64_t ts_ns;       /* EventHeader.TimeStamp converted to Unix ns */
  uint8_t pointer_size; /* 4 (EVENT_HEADER_FLAG_32_BIT_HEADER) or 8 (64_BIT_HEADER) */
} st_etw_record;

/* Facts the decoder found that have no place in st_event and that the
 * state (etw_state.h) needs. */
typedef struct st_etw_info {
  uint64_t process;     /* AFD's Process: the owner's EPROCESS address; 0 if none */
  uint64_t process_id;  /* 1000's ProcessId / Vista 1's UserModePid */
  bool has_process_id;  /* process_id is valid */
  bool nested;          /* an inner event of a nested send (bytes counted by the outer one) */
  bool request_context; /* the record was written in the calling thread of a request */
  uint64_t raw_endpoint;
} st_etw_info;

enum {
  ST_ETW_DECODED = 0, /* ev holds the event */
  ST_ETW_IGNORED = 1, /* not from a provider this decoder knows: nothing to emit */
  /* ST_EBADMSG (negative): ev holds a DecodeError (5800) event saying why */
};

/* Which providers a session's keyword mask enables: AFD with its own
 * keyword bits (the low byte; 0 asks ETW for all), WS2HELP for the catalog
 * keyword, the DNS client for the dns keyword. A mask of 0 or all bits
 * wants every one. Portable, so the live session and the background
 * sessions decide alike and tests can say so. */
typedef struct st_etw_providers {
  bool afd;
  uint64_t afd_keywords;
  bool ws2help;
  bool dns_client;
} st_etw_providers;
st_etw_providers st_etw_providers_for(uint64_t keywords);

/* Decodes one record. info may be NULL. */
int st_etw_decode(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev,
                  st_etw_info *info);

/* Names of the AFD ids the schema does not carry (RIO, name resolution,
 * Vista-era ids with no modern twin); NULL when unknown. */
const char *st_etw_extra_event_name(uint16_t id);

/* Decoding a socket address blob (AddressLen bytes of SOCKADDR). Returns 0,
 * or ST_EBADMSG when the blob is too short for its family. len 0 leaves a
 * ST_FAMILY_NONE address. Exposed for the tests and the .etl reader. */
int st_etw_sockaddr(const uint8_t *p, size_t len, st_addr *out);

#ifdef __cplusplus
}
#endif
#endif
