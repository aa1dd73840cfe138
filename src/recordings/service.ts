// Call recordings: every connected call is recorded (calls.recording_name; the dialplan's MixMonitor, or ARI recording a
// snoop on the caller); this streams the stored file back from Asterisk to those allowed to hear it: supervisors and
// admins, and the agent who took the call.
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import { ForbiddenError, NotFoundError, TelephonyDownError } from '../infra/errors';
import type { CallSwitch, RecordingFile } from '../telephony/switch';

const CONTENT_TYPES: Record<string, string> = { wav: 'audio/wav', gsm: 'audio/x-gsm', ulaw: 'audio/basic', alaw: 'audio/x-alaw-basic', mp3: 'audio/mpeg', ogg: 'audio/ogg', wav16: 'audio/wav' };

export class RecordingService {
  private sw: CallSwitch | null = null;

  constructor(private readonly db: Db) {}

  setSwitch(sw: CallSwitch | null): void {
    this.sw = sw;
  }

  /** The recording of a call (inbound calls, or a click-to-call callback by its id), checked against the user. */
  async open(user: AuthUser, callId: string): Promise<{ file: RecordingFile; filename: string }> {
    const { rows } = await this.db.query<{ recording_name: string | null; agent_id: number | null }>(
      `select recording_name, agent_id from calls where id = $1
       union all
       select recording_name, agent_id from outbound_calls where id = $1
       limit 1`,
      [callId],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError('通话记录不存在', 'call_not_found');
    if (user.role === 'agent' && (user.agentId === null || row.agent_id !== user.agentId)) {
      throw new ForbiddenError('只能收听自己接听的通话录音');
    }
    if (!row.recording_name) throw new NotFoundError('该通话没有录音', 'no_recording');
    const sw = this.sw;
    if (!sw || !sw.isUp) throw new TelephonyDownError('ari');
    const file = await sw.recordingFile(row.recording_name);
    if (!file) throw new NotFoundError('录音文件不存在（可能仍在录制或已被清理）', 'no_recording');
    const ext = 'wav';
    if (!file.contentType || file.contentType === 'application/octet-stream') file.contentType = CONTENT_TYPES[ext]!;
    return { file, filename: `${callId}.${ext}` };
  }
}
