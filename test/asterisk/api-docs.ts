// Swagger 1.1 api-docs served by the simulator, written for this project (not copied from Asterisk):
// they describe only the operations and models the simulator implements, in the shape ari-client 2.2.0
// (through swagger-client 2.0.x) needs: a resource listing, one API declaration per resource with
// `apis[].operations[]` (nickname, httpMethod, responseClass, parameters) and `models`.
// ari-client looks every WebSocket event up in the models of the `events` resource and throws on an
// unknown type, so every event type the simulator sends is declared in EVENT_MODELS.

type Param = {
  name: string;
  paramType: 'path' | 'query' | 'body';
  dataType: string;
  required: boolean;
  allowMultiple: boolean;
  description: string;
  allowableValues?: { valueType: 'LIST'; values: string[] };
  defaultValue?: string | number;
};

type Operation = {
  httpMethod: 'GET' | 'POST' | 'PUT' | 'DELETE';
  summary: string;
  nickname: string;
  responseClass: string;
  parameters: Param[];
};

type Api = { path: string; description: string; operations: Operation[] };
type ModelProps = Record<string, { type: string; required?: boolean; description?: string }>;
type Model = { id: string; description: string; properties: ModelProps; subTypes?: string[]; extends?: string };

const API_VERSION = '10.0.0';

function path(name: string, description = name): Param {
  return { name, paramType: 'path', dataType: 'string', required: true, allowMultiple: false, description };
}
function query(name: string, dataType = 'string', opts: Partial<Param> = {}): Param {
  return { name, paramType: 'query', dataType, required: false, allowMultiple: false, description: name, ...opts };
}
function body(name: string, dataType = 'containers'): Param {
  return { name, paramType: 'body', dataType, required: false, allowMultiple: false, description: name };
}
function op(httpMethod: Operation['httpMethod'], nickname: string, responseClass: string, parameters: Param[], summary = nickname): Operation {
  return { httpMethod, summary, nickname, responseClass, parameters };
}

/** The query parameters of POST /channels/{id}/record and /bridges/{id}/record. */
function recordParams(): Param[] {
  return [
    query('name', 'string', { required: true }),
    query('format', 'string', { required: true }),
    query('maxDurationSeconds', 'int'),
    query('maxSilenceSeconds', 'int'),
    query('ifExists', 'string', { allowableValues: { valueType: 'LIST', values: ['fail', 'overwrite', 'append'] } }),
    query('beep', 'boolean'),
    query('terminateOn'),
  ];
}
function props(spec: Record<string, string>, required: string[] = Object.keys(spec)): ModelProps {
  const out: ModelProps = {};
  for (const [k, t] of Object.entries(spec)) {
    out[k] = { type: t, required: required.includes(k), description: k };
  }
  return out;
}
function model(id: string, spec: Record<string, string>, required?: string[], extra: Partial<Model> = {}): Model {
  return { id, description: id, properties: props(spec, required), ...extra };
}

// ---------------------------------------------------------------------------------------------------------
// Models

const CHANNEL_MODELS: Model[] = [
  model('CallerID', { name: 'string', number: 'string' }),
  model('DialplanCEP', { context: 'string', exten: 'string', priority: 'long', app_name: 'string', app_data: 'string' }),
  model(
    'Channel',
    {
      id: 'string',
      name: 'string',
      state: 'string',
      protocol_id: 'string',
      caller: 'CallerID',
      connected: 'CallerID',
      accountcode: 'string',
      dialplan: 'DialplanCEP',
      creationtime: 'Date',
      language: 'string',
      channelvars: 'object',
    },
    ['id', 'name', 'state', 'protocol_id', 'caller', 'connected', 'accountcode', 'dialplan', 'creationtime', 'language'],
  ),
  model('Variable', { value: 'string' }),
];
const BRIDGE_MODELS: Model[] = [
  model(
    'Bridge',
    {
      id: 'string',
      technology: 'string',
      bridge_type: 'string',
      bridge_class: 'string',
      creator: 'string',
      name: 'string',
      channels: 'List[string]',
      video_mode: 'string',
      video_source_id: 'string',
      creationtime: 'Date',
    },
    ['id', 'technology', 'bridge_type', 'bridge_class', 'creator', 'name', 'channels', 'creationtime'],
  ),
];
const PLAYBACK_MODELS: Model[] = [
  model(
    'Playback',
    { id: 'string', media_uri: 'string', next_media_uri: 'string', target_uri: 'string', language: 'string', state: 'string' },
    ['id', 'media_uri', 'target_uri', 'state'],
  ),
];
const RECORDING_MODELS: Model[] = [
  model('StoredRecording', { name: 'string', format: 'string' }),
  model(
    'LiveRecording',
    {
      name: 'string',
      format: 'string',
      target_uri: 'string',
      state: 'string',
      duration: 'int',
      talking_duration: 'int',
      silence_duration: 'int',
      cause: 'string',
    },
    ['name', 'format', 'target_uri', 'state'],
  ),
];
const ENDPOINT_MODELS: Model[] = [
  model('Endpoint', { technology: 'string', resource: 'string', state: 'string', channel_ids: 'List[string]' }, ['technology', 'resource', 'channel_ids']),
];
const DEVICE_MODELS: Model[] = [model('DeviceState', { name: 'string', state: 'string' })];
const APPLICATION_MODELS: Model[] = [
  model('Application', {
    name: 'string',
    channel_ids: 'List[string]',
    bridge_ids: 'List[string]',
    endpoint_ids: 'List[string]',
    device_names: 'List[string]',
    events_allowed: 'List[object]',
    events_disallowed: 'List[object]',
  }),
];
const ASTERISK_MODELS: Model[] = [
  model('AsteriskInfo', { build: 'BuildInfo', system: 'SystemInfo', config: 'ConfigInfo', status: 'StatusInfo' }, []),
  model('BuildInfo', { os: 'string', kernel: 'string', options: 'string', machine: 'string', date: 'string', user: 'string' }),
  model('SystemInfo', { version: 'string', entity_id: 'string' }),
  model('SetId', { user: 'string', group: 'string' }),
  model('ConfigInfo', { name: 'string', default_language: 'string', max_channels: 'int', max_open_files: 'int', max_load: 'double', setid: 'SetId' }, ['default_language']),
  model('StatusInfo', { startup_time: 'Date', last_reload_time: 'Date' }),
  model('Variable', { value: 'string' }),
];
const SOUND_MODELS: Model[] = [
  model('FormatLangPair', { language: 'string', format: 'string' }),
  model('Sound', { id: 'string', text: 'string', formats: 'List[FormatLangPair]' }, ['id', 'formats']),
];
const MAILBOX_MODELS: Model[] = [model('Mailbox', { name: 'string', old_messages: 'int', new_messages: 'int' })];

/** Every event the simulator can send, with the properties ari-client turns into typed instances. */
const EVENT_SPECS: Record<string, Record<string, string>> = {
  StasisStart: { args: 'List[string]', channel: 'Channel', replace_channel: 'Channel' },
  StasisEnd: { channel: 'Channel' },
  ChannelCreated: { channel: 'Channel' },
  ChannelDestroyed: { cause: 'int', cause_txt: 'string', tech_cause: 'int', channel: 'Channel' },
  ChannelStateChange: { channel: 'Channel' },
  ChannelHangupRequest: { cause: 'int', tech_cause: 'int', soft: 'boolean', channel: 'Channel' },
  ChannelVarset: { variable: 'string', value: 'string', channel: 'Channel' },
  ChannelDtmfReceived: { digit: 'string', duration_ms: 'int', channel: 'Channel' },
  ChannelEnteredBridge: { bridge: 'Bridge', channel: 'Channel' },
  ChannelLeftBridge: { bridge: 'Bridge', channel: 'Channel' },
  ChannelConnectedLine: { channel: 'Channel' },
  ChannelCallerId: { caller_presentation: 'int', caller_presentation_txt: 'string', channel: 'Channel' },
  ChannelDialplan: { dialplan_app: 'string', dialplan_app_data: 'string', channel: 'Channel' },
  ChannelHold: { musicclass: 'string', channel: 'Channel' },
  ChannelUnhold: { channel: 'Channel' },
  ChannelTalkingStarted: { channel: 'Channel' },
  ChannelTalkingFinished: { duration: 'int', channel: 'Channel' },
  ChannelUserevent: { eventname: 'string', userevent: 'object', channel: 'Channel', bridge: 'Bridge', endpoint: 'Endpoint' },
  Dial: { caller: 'Channel', peer: 'Channel', forward: 'string', forwarded: 'Channel', dialstring: 'string', dialstatus: 'string' },
  BridgeCreated: { bridge: 'Bridge' },
  BridgeDestroyed: { bridge: 'Bridge' },
  BridgeMerged: { bridge: 'Bridge', bridge_from: 'Bridge' },
  BridgeVideoSourceChanged: { bridge: 'Bridge', old_video_source_id: 'string' },
  BridgeBlindTransfer: { channel: 'Channel', bridge: 'Bridge', result: 'string', exten: 'string', context: 'string', is_external: 'boolean' },
  PlaybackStarted: { playback: 'Playback' },
  PlaybackContinuing: { playback: 'Playback' },
  PlaybackFinished: { playback: 'Playback' },
  RecordingStarted: { recording: 'LiveRecording' },
  RecordingFinished: { recording: 'LiveRecording' },
  RecordingFailed: { recording: 'LiveRecording' },
  EndpointStateChange: { endpoint: 'Endpoint' },
  PeerStatusChange: { endpoint: 'Endpoint', peer: 'Peer' },
  ContactStatusChange: { endpoint: 'Endpoint', contact_info: 'ContactInfo' },
  DeviceStateChanged: { device_state: 'DeviceState' },
  ApplicationReplaced: {},
  ApplicationMoveFailed: { channel: 'Channel', destination: 'string', args: 'List[string]' },
  TextMessageReceived: { message: 'TextMessage', endpoint: 'Endpoint' },
};

export const EVENT_TYPES: string[] = Object.keys(EVENT_SPECS);

function eventModels(): Model[] {
  const base: Model[] = [
    model('Message', { type: 'string', asterisk_id: 'string' }, ['type'], { subTypes: ['MissingParams', 'Event'] }),
    model('MissingParams', { params: 'List[string]' }, ['params'], { extends: 'Message' }),
    model('Event', { application: 'string', timestamp: 'Date' }, ['application', 'timestamp'], {
      extends: 'Message',
      subTypes: EVENT_TYPES,
    }),
    model('ContactInfo', { uri: 'string', contact_status: 'string', aor: 'string', roundtrip_usec: 'string' }, ['uri', 'contact_status', 'aor']),
    model('Peer', { peer_status: 'string', cause: 'string', address: 'string', port: 'string', time: 'string' }, ['peer_status']),
    model('TextMessage', { from: 'string', to: 'string', body: 'string', variables: 'object' }, ['from', 'to', 'body']),
  ];
  const events = Object.entries(EVENT_SPECS).map(([id, spec]) => model(id, spec, [], { extends: 'Event' }));
  return [...base, ...events, ...CHANNEL_MODELS, ...BRIDGE_MODELS, ...PLAYBACK_MODELS, ...RECORDING_MODELS, ...ENDPOINT_MODELS, ...DEVICE_MODELS];
}

// ---------------------------------------------------------------------------------------------------------
// APIs

const originateParams = (withId: boolean): Param[] => [
  ...(withId ? [path('channelId')] : []),
  query('endpoint', 'string', { required: true }),
  query('extension'),
  query('context'),
  query('priority', 'long'),
  query('label'),
  query('app'),
  query('appArgs'),
  query('callerId'),
  query('timeout', 'int', { defaultValue: 30 }),
  body('variables'),
  ...(withId ? [] : [query('channelId')]),
  query('otherChannelId'),
  query('originator'),
  query('formats'),
];

const RESOURCES: Record<string, { description: string; apis: Api[]; models: Model[] }> = {
  asterisk: {
    description: 'Asterisk resources',
    apis: [
      { path: '/asterisk/info', description: 'Asterisk system information', operations: [op('GET', 'getInfo', 'AsteriskInfo', [query('only', 'string', { allowMultiple: true })])] },
      {
        path: '/asterisk/variable',
        description: 'Global variables',
        operations: [
          op('GET', 'getGlobalVar', 'Variable', [query('variable', 'string', { required: true })]),
          op('POST', 'setGlobalVar', 'void', [query('variable', 'string', { required: true }), query('value')]),
        ],
      },
    ],
    models: ASTERISK_MODELS,
  },
  endpoints: {
    description: 'Endpoint resources',
    apis: [
      { path: '/endpoints', description: 'Endpoints', operations: [op('GET', 'list', 'List[Endpoint]', [])] },
      { path: '/endpoints/{tech}', description: 'Endpoints of a technology', operations: [op('GET', 'listByTech', 'List[Endpoint]', [path('tech')])] },
      { path: '/endpoints/{tech}/{resource}', description: 'Single endpoint', operations: [op('GET', 'get', 'Endpoint', [path('tech'), path('resource')])] },
    ],
    models: ENDPOINT_MODELS,
  },
  channels: {
    description: 'Channel resources',
    apis: [
      {
        path: '/channels',
        description: 'Active channels',
        operations: [op('GET', 'list', 'List[Channel]', []), op('POST', 'originate', 'Channel', originateParams(false))],
      },
      {
        path: '/channels/{channelId}',
        description: 'Active channel',
        operations: [
          op('GET', 'get', 'Channel', [path('channelId')]),
          op('POST', 'originateWithId', 'Channel', originateParams(true)),
          op('DELETE', 'hangup', 'void', [path('channelId'), query('reason_code'), query('reason')]),
        ],
      },
      { path: '/channels/{channelId}/answer', description: 'Answer', operations: [op('POST', 'answer', 'void', [path('channelId')])] },
      {
        path: '/channels/{channelId}/ring',
        description: 'Ringing indication',
        operations: [op('POST', 'ring', 'void', [path('channelId')]), op('DELETE', 'ringStop', 'void', [path('channelId')])],
      },
      {
        path: '/channels/{channelId}/moh',
        description: 'Music on hold',
        operations: [op('POST', 'startMoh', 'void', [path('channelId'), query('mohClass')]), op('DELETE', 'stopMoh', 'void', [path('channelId')])],
      },
      {
        path: '/channels/{channelId}/play',
        description: 'Play media',
        operations: [
          op('POST', 'play', 'Playback', [
            path('channelId'),
            query('media', 'string', { required: true, allowMultiple: true }),
            query('lang'),
            query('offsetms', 'int'),
            query('skipms', 'int'),
            query('playbackId'),
          ]),
        ],
      },
      {
        path: '/channels/{channelId}/play/{playbackId}',
        description: 'Play media with id',
        operations: [
          op('POST', 'playWithId', 'Playback', [
            path('channelId'),
            path('playbackId'),
            query('media', 'string', { required: true, allowMultiple: true }),
            query('lang'),
            query('offsetms', 'int'),
            query('skipms', 'int'),
          ]),
        ],
      },
      {
        path: '/channels/{channelId}/record',
        description: 'Record audio from a channel',
        operations: [
          op('POST', 'record', 'LiveRecording', [
            path('channelId'),
            ...recordParams(),
          ]),
        ],
      },
      {
        path: '/channels/{channelId}/snoop',
        description: 'Snoop (spy/whisper) on a channel',
        operations: [
          op('POST', 'snoopChannel', 'Channel', [
            path('channelId'),
            query('spy', 'string', { allowableValues: { valueType: 'LIST', values: ['none', 'both', 'out', 'in'] } }),
            query('whisper', 'string', { allowableValues: { valueType: 'LIST', values: ['none', 'both', 'out', 'in'] } }),
            query('app', 'string', { required: true }),
            query('appArgs'),
            query('snoopId'),
          ]),
        ],
      },
      {
        path: '/channels/{channelId}/snoop/{snoopId}',
        description: 'Snoop (spy/whisper) on a channel, with the snoop channel id',
        operations: [
          op('POST', 'snoopChannelWithId', 'Channel', [
            path('channelId'),
            path('snoopId'),
            query('spy', 'string', { allowableValues: { valueType: 'LIST', values: ['none', 'both', 'out', 'in'] } }),
            query('whisper', 'string', { allowableValues: { valueType: 'LIST', values: ['none', 'both', 'out', 'in'] } }),
            query('app', 'string', { required: true }),
            query('appArgs'),
          ]),
        ],
      },
      {
        path: '/channels/{channelId}/variable',
        description: 'Channel variables',
        operations: [
          op('GET', 'getChannelVar', 'Variable', [path('channelId'), query('variable', 'string', { required: true })]),
          op('POST', 'setChannelVar', 'void', [path('channelId'), query('variable', 'string', { required: true }), query('value')]),
        ],
      },
    ],
    models: CHANNEL_MODELS.concat(PLAYBACK_MODELS, RECORDING_MODELS),
  },
  bridges: {
    description: 'Bridge resources',
    apis: [
      {
        path: '/bridges',
        description: 'Active bridges',
        operations: [op('GET', 'list', 'List[Bridge]', []), op('POST', 'create', 'Bridge', [query('type'), query('bridgeId'), query('name')])],
      },
      {
        path: '/bridges/{bridgeId}',
        description: 'Single bridge',
        operations: [
          op('POST', 'createWithId', 'Bridge', [query('type'), path('bridgeId'), query('name')]),
          op('GET', 'get', 'Bridge', [path('bridgeId')]),
          op('DELETE', 'destroy', 'void', [path('bridgeId')]),
        ],
      },
      {
        path: '/bridges/{bridgeId}/addChannel',
        description: 'Add a channel',
        operations: [
          op('POST', 'addChannel', 'void', [
            path('bridgeId'),
            query('channel', 'string', { required: true, allowMultiple: true }),
            query('role'),
            query('absorbDTMF', 'boolean'),
            query('mute', 'boolean'),
            query('inhibitConnectedLineUpdates', 'boolean'),
          ]),
        ],
      },
      {
        path: '/bridges/{bridgeId}/removeChannel',
        description: 'Remove a channel',
        operations: [op('POST', 'removeChannel', 'void', [path('bridgeId'), query('channel', 'string', { required: true, allowMultiple: true })])],
      },
      {
        path: '/bridges/{bridgeId}/moh',
        description: 'Music on hold',
        operations: [op('POST', 'startMoh', 'void', [path('bridgeId'), query('mohClass')]), op('DELETE', 'stopMoh', 'void', [path('bridgeId')])],
      },
      {
        path: '/bridges/{bridgeId}/record',
        description: 'Record a bridge',
        operations: [
          op('POST', 'record', 'LiveRecording', [
            path('bridgeId'),
            ...recordParams(),
          ]),
        ],
      },
    ],
    models: BRIDGE_MODELS.concat(RECORDING_MODELS),
  },
  recordings: {
    description: 'Recording resources',
    apis: [
      { path: '/recordings/stored', description: 'Stored recordings', operations: [op('GET', 'listStored', 'List[StoredRecording]', [])] },
      {
        path: '/recordings/stored/{recordingName}',
        description: 'A stored recording',
        operations: [op('GET', 'getStored', 'StoredRecording', [path('recordingName')]), op('DELETE', 'deleteStored', 'void', [path('recordingName')])],
      },
      { path: '/recordings/stored/{recordingName}/file', description: 'Recording file', operations: [op('GET', 'getStoredFile', 'binary', [path('recordingName')])] },
      {
        path: '/recordings/live/{recordingName}',
        description: 'A live recording',
        operations: [op('GET', 'getLive', 'LiveRecording', [path('recordingName')]), op('DELETE', 'cancel', 'void', [path('recordingName')])],
      },
      { path: '/recordings/live/{recordingName}/stop', description: 'Stop', operations: [op('POST', 'stop', 'void', [path('recordingName')])] },
    ],
    models: RECORDING_MODELS,
  },
  sounds: {
    description: 'Sound resources',
    apis: [
      { path: '/sounds', description: 'Sounds', operations: [op('GET', 'list', 'List[Sound]', [query('lang'), query('format')])] },
      { path: '/sounds/{soundId}', description: 'A sound', operations: [op('GET', 'get', 'Sound', [path('soundId')])] },
    ],
    models: SOUND_MODELS,
  },
  playbacks: {
    description: 'Playback control resources',
    apis: [
      {
        path: '/playbacks/{playbackId}',
        description: 'A playback',
        operations: [op('GET', 'get', 'Playback', [path('playbackId')]), op('DELETE', 'stop', 'void', [path('playbackId')])],
      },
    ],
    models: PLAYBACK_MODELS,
  },
  deviceStates: {
    description: 'Device state resources',
    apis: [
      { path: '/deviceStates', description: 'Device states', operations: [op('GET', 'list', 'List[DeviceState]', [])] },
      { path: '/deviceStates/{deviceName}', description: 'A device state', operations: [op('GET', 'get', 'DeviceState', [path('deviceName')])] },
    ],
    models: DEVICE_MODELS,
  },
  mailboxes: {
    description: 'Mailboxes',
    apis: [{ path: '/mailboxes', description: 'Mailboxes', operations: [op('GET', 'list', 'List[Mailbox]', [])] }],
    models: MAILBOX_MODELS,
  },
  events: {
    description: 'WebSocket resource',
    apis: [
      {
        path: '/events',
        description: 'Events from Asterisk to applications',
        operations: [op('GET', 'eventWebsocket', 'Message', [query('app', 'string', { required: true, allowMultiple: true }), query('subscribeAll', 'boolean')])],
      },
    ],
    models: eventModels(),
  },
  applications: {
    description: 'Stasis application resources',
    apis: [
      { path: '/applications', description: 'Applications', operations: [op('GET', 'list', 'List[Application]', [])] },
      { path: '/applications/{applicationName}', description: 'An application', operations: [op('GET', 'get', 'Application', [path('applicationName')])] },
      {
        path: '/applications/{applicationName}/subscription',
        description: 'Event subscriptions',
        operations: [
          op('POST', 'subscribe', 'Application', [path('applicationName'), query('eventSource', 'string', { required: true, allowMultiple: true })]),
          op('DELETE', 'unsubscribe', 'Application', [path('applicationName'), query('eventSource', 'string', { required: true, allowMultiple: true })]),
        ],
      },
    ],
    models: APPLICATION_MODELS,
  },
};

export const RESOURCE_NAMES: string[] = Object.keys(RESOURCES);

export function resourceListing(basePath: string): object {
  return {
    _copyright: 'hotline114 test simulator',
    apiVersion: API_VERSION,
    swaggerVersion: '1.1',
    basePath,
    apis: RESOURCE_NAMES.map((name) => ({ path: `/api-docs/${name}.{format}`, description: RESOURCES[name]?.description ?? name })),
  };
}

export function apiDeclaration(name: string, basePath: string): object | undefined {
  const r = RESOURCES[name];
  if (!r) return undefined;
  const models: Record<string, Model> = {};
  for (const m of r.models) models[m.id] = m;
  return {
    apiVersion: API_VERSION,
    swaggerVersion: '1.1',
    basePath,
    resourcePath: `/api-docs/${name}.{format}`,
    apis: r.apis,
    models,
  };
}
