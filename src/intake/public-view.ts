// What a city publishes about a request, for anyone without an account (Open311 GET, any unauthenticated read):
// service, status, dates, a coarse location, the agency's public reply — never the resident's description, name,
// phone, e-mail or exact address. The description (and photo link) appears only after staff reviewed it and marked
// it public (cases.description_public_at/_by); even then it goes through redactPersonalData.
//
// Location (PUBLIC_LOCATION):
//   street (default) — the address cut before the first house/building/unit number (和平里5号楼3单元402室 → 和平里),
//                      and coordinates moved to the centre of a PUBLIC_GRID_METERS square;
//   grid             — no address text at all, only the grid centre.
import type { PublicLocationSettings } from '../config';
import { redactPersonalData } from '../infra/redact';
import { STATUS_LABELS } from '../search/service';
import type { RequestRow } from './repo';

const NUM = '[0-9０-９一二三四五六七八九十百千零〇两壹贰叁肆伍陆柒捌玖拾]+';
// A number followed by what numbers a house, building, unit, floor or room; or any ASCII/full-width digit at all.
const HOUSE_PART = new RegExp(`(?:第?${NUM}\\s*(?:号|號|栋|棟|幢|座|楼|樓|单元|單元|门|門|室|层|層|户|戶|弄|巷|排|期|区|區|街坊|组|組)|[0-9０-９A-Za-z]*[0-9０-９])`);

/** The public part of an address: everything before the first house/building/unit number; null if nothing is left. */
export function streetOf(address: string | null): string | null {
  if (!address) return null;
  const text = address.replace(/\s+/g, ' ').trim();
  const m = HOUSE_PART.exec(text);
  const street = (m ? text.slice(0, m.index) : text).replace(/[\s,，、;；:：(（-]+$/u, '').trim();
  // Keep it short: a long free-text "address" is more likely a description than a street.
  return street.length >= 2 ? [...street].slice(0, 30).join('') : null;
}

/** Centre of the grid square (of `meters`) the point falls in: a location that never points at one house. */
export function snapToGrid(lat: number, long: number, meters: number): { lat: number; long: number } {
  const latStep = meters / 111_320;
  const snappedLat = (Math.floor(lat / latStep) + 0.5) * latStep;
  const longStep = meters / (111_320 * Math.max(0.01, Math.cos((snappedLat * Math.PI) / 180)));
  const snappedLong = (Math.floor(long / longStep) + 0.5) * longStep;
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return { lat: round(snappedLat), long: round(snappedLong) };
}

const CLOSED = new Set(['resolved', 'callback', 'closed', 'merged']);

/** The published form of a request (Open311 GeoReport v2 fields plus our documented extensions). */
export function publicRequest(r: RequestRow, location: PublicLocationSettings) {
  const published = r.description_public_at !== null;
  const point = r.lat !== null && r.long !== null ? snapToGrid(r.lat, r.long, location.gridMeters) : null;
  const notes =
    r.status === 'merged' && r.merged_into_tracking_no
      ? `已并入工单 ${r.merged_into_tracking_no} 一并办理`
      : r.reply
        ? redactPersonalData(r.reply)
        : STATUS_LABELS[r.status] ?? r.status;
  return {
    service_request_id: r.tracking_no,
    status: CLOSED.has(r.status) ? 'closed' : 'open',
    status_notes: notes,
    service_name: r.category_name,
    service_code: r.category_code,
    description: published ? redactPersonalData(r.description) : null,
    agency_responsible: r.department_name,
    service_notice: '',
    requested_datetime: r.created_at.toISOString(),
    updated_datetime: r.updated_at.toISOString(),
    expected_datetime: r.resolve_deadline ? r.resolve_deadline.toISOString() : null,
    address: location.mode === 'street' ? redactPersonalData(streetOf(r.address)) : null,
    address_id: null,
    zipcode: r.zipcode,
    lat: point?.lat ?? null,
    long: point?.long ?? null,
    media_url: published ? r.media_url : null,
    extended_attributes: {
      h114_status: r.status,
      h114_status_label: STATUS_LABELS[r.status] ?? r.status,
      channel: r.channel,
      merged_into: r.merged_into_tracking_no,
      description_public: published,
      location_precision: location.mode,
      history: r.history.map((h) => ({
        at: new Date(h.at).toISOString(),
        action: h.action,
        status: h.to_status,
        status_label: STATUS_LABELS[h.to_status] ?? h.to_status,
      })),
    },
  };
}

export type PublicRequest = ReturnType<typeof publicRequest>;
