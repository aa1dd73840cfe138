// The one rule for where an agent's phone rings: the agent's own endpoint when one is set, else the configured
// template with their extension (AGENT_ENDPOINT_TEMPLATE, e.g. PJSIP/agent{extension}).
export function agentEndpoint(template: string, agent: { endpoint?: string | null; extension: string }): string {
  return agent.endpoint || template.replace('{extension}', agent.extension);
}
