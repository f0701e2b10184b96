/*
 * libFuzzer target for the ETW decoder and state. The first bytes choose
 * the record header (provider, id, version, pointer size, EnterExit seen by
 * the state); the rest is the user data. Whatever the bytes, the decoder
 * must return an event or a DecodeError, read nothing past the payload
 * (ASan), and the state must accept the result.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "etw/etw_decode.h"
#include "etw/etw_state.h"

static st_etw_state *state;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4)
    return 0;
  if (!state)
    state = st_etw_state_new(NULL, NULL);
  st_etw_record r;
  memset(&r, 0, sizeof r);
  memcpy(r.provider, (data[0] & 0x80) ? st_etw_ws2help_guid : st_etw_afd_guid, 16);
  uint16_t sel = (uint16_t)(data[1] | ((data[0] & 0x7f) << 8));
  /* Mostly ids the decoder knows: legacy 0-63, 1000-1063, 3000-3015, 4000+. */
  switch (sel % 4) {
  case 0:
    r.id = (uint16_t)(sel / 4 % 64);
    break;
  case 1:
    r.id = (uint16_t)(1000 + sel / 4 % 64);
    break;
  case 2:
    r.id = (uint16_t)(3000 + sel / 4 % 16);
    break;
  default:
    r.id = (uint16_t)(sel / 4);
    break;
  }
  r.version = (data[2] & 0x0f) == 0x0f ? 1 : 0;
  r.pointer_size = (data[2] & 0x10) ? 4 : 8;
  r.level = (uint8_t)(data[3] % 8);
  r.pid = data[3];
  st_event ev;
  st_etw_info info;
  int rc = st_etw_decode(&r, data + 4, size - 4, &ev, &info);
  if (rc == ST_ETW_DECODED)
    st_etw_state_apply(state, &info, &ev);
  else if (rc != ST_ETW_IGNORED && ev.id != ST_EV_DECODE_ERROR)
    __builtin_trap();
  return 0;
}
