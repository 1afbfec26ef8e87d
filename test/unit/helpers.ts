// Request builders shared by unit tests that talk to the host's nlctrl.
import { CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, CTRL_VERSION, GENL_ID_CTRL, NLM_F_ACK, NLM_F_REQUEST } from '../../src/netlink/constants.js';
import { genlRequest } from '../../src/netlink/genl.js';

/** A GETFAMILY request for `name` with the given seq, ready to send as is. */
export function getFamilyRequest(name: string, seq = 0, flags = NLM_F_REQUEST | NLM_F_ACK): Uint8Array {
  const { w, end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION, flags);
  w.string(CTRL_ATTR_FAMILY_NAME, name);
  const bytes = end().slice();
  new DataView(bytes.buffer).setUint32(8, seq, true);
  return bytes;
}
