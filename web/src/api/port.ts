/**
 * Everything the screens ask of the server, as one interface. The real
 * implementation (api/http.ts) uses the client generated from the gateway's
 * OpenAPI; component tests pass an in-memory one. Every method returns data or
 * throws an ApiError.
 */
import { createContext, useContext } from "react";
import type {
  Answer,
  AuditRecord,
  Comment,
  CommunityView,
  DemoPerson,
  DiffLine,
  DigestFrequency,
  Expert,
  GrantLevel,
  IdeaStatus,
  JoinRequest,
  Me,
  Member,
  Notification,
  Page,
  Person,
  PersonCard,
  Pinhole,
  Post,
  PostType,
  PostView,
  RoutedQuestion,
  ReactionKind,
  Revision,
  Role,
  Space,
  SubscriptionLevel,
  Visibility,
} from "./model";

export interface PostDraft {
  readonly type: PostType;
  readonly title: string;
  readonly body: string;
  readonly tags: readonly string[];
}

export interface CommunityQuery {
  readonly query?: string;
  readonly visibility?: Visibility;
  readonly mine?: boolean;
  readonly pageToken?: string;
}

export interface SearchQuery {
  readonly query: string;
  readonly type?: PostType;
  readonly communityId?: string;
  readonly tag?: string;
  readonly pageToken?: string;
}

export interface AuthConfig {
  /** "dev": the gateway's local issuer offers demo people; "oidc": the enterprise's provider. */
  readonly mode: "dev" | "oidc";
  readonly issuer?: string;
  readonly clientId?: string;
  readonly scope?: string;
}

export interface Api {
  // sign-in
  authConfig(): Promise<AuthConfig>;
  demoPeople(): Promise<readonly DemoPerson[]>;
  devToken(subject: string): Promise<string>;
  me(): Promise<Me>;

  // people
  person(personId: string): Promise<Person>;
  cards(personIds: readonly string[]): Promise<readonly PersonCard[]>;
  managerChain(personId: string): Promise<readonly PersonCard[]>;
  directReports(personId: string): Promise<readonly PersonCard[]>;
  setDeclaredExpertise(tags: readonly string[]): Promise<Person>;
  findExperts(tag: string, pageToken?: string): Promise<Page<Expert>>;
  suggestPeople(prefix: string, spaceId: string | undefined): Promise<readonly PersonCard[]>;

  // communities
  communities(query: CommunityQuery): Promise<Page<CommunityView>>;
  community(communityId: string): Promise<CommunityView>;
  createCommunity(name: string, description: string, visibility: Visibility): Promise<CommunityView>;
  join(communityId: string): Promise<void>;
  requestJoin(communityId: string, message: string): Promise<void>;
  leave(communityId: string): Promise<void>;
  members(communityId: string, pageToken?: string): Promise<Page<Member>>;
  joinRequests(communityId: string): Promise<readonly JoinRequest[]>;
  decideJoinRequest(communityId: string, personId: string, approve: boolean): Promise<void>;
  changeRole(communityId: string, personId: string, role: Role): Promise<void>;
  spaces(communityId: string): Promise<readonly Space[]>;
  space(spaceId: string): Promise<Space>;

  // pinholes
  pinholes(communityId: string): Promise<readonly Pinhole[]>;
  myPinholes(): Promise<readonly Pinhole[]>;
  pinhole(pinholeId: string): Promise<Pinhole>;
  openPinhole(communityId: string, title: string, purpose: string, expiresAt: string | null): Promise<Pinhole>;
  grantPinhole(pinholeId: string, orgId: string, level: GrantLevel): Promise<Pinhole>;
  revokeGrant(pinholeId: string, orgId: string): Promise<Pinhole>;
  closePinhole(pinholeId: string): Promise<Pinhole>;
  pinholeParticipants(pinholeId: string): Promise<readonly PersonCard[]>;
  pinholeAudit(pinholeId: string, pageToken?: string): Promise<Page<AuditRecord>>;
  partnerOrgs(): Promise<readonly { readonly org_id: string; readonly display_name: string }[]>;

  // content
  homeFeed(pageToken?: string): Promise<Page<PostView>>;
  spaceFeed(spaceId: string, pageToken?: string): Promise<Page<PostView>>;
  /** Open questions routed to the caller as an expert (or as community staff), most recently routed first. */
  routedQuestions(pageToken?: string): Promise<Page<RoutedQuestion>>;
  post(postId: string): Promise<PostView>;
  createPost(spaceId: string, draft: PostDraft): Promise<Post>;
  editPost(postId: string, etag: string, draft: PostDraft, summary: string): Promise<PostView>;
  answers(questionId: string, pageToken?: string): Promise<Page<Answer>>;
  postAnswer(questionId: string, body: string): Promise<Answer>;
  voteAnswer(answerId: string, vote: "up" | "down" | "none"): Promise<Answer>;
  acceptAnswer(questionId: string, answerId: string): Promise<void>;
  voteIdea(postId: string, vote: boolean): Promise<Post>;
  setIdeaStatus(postId: string, status: IdeaStatus): Promise<Post>;
  comments(postId: string, pageToken?: string): Promise<Page<Comment>>;
  addComment(postId: string, body: string): Promise<Comment>;
  react(postId: string, kind: ReactionKind, on: boolean): Promise<void>;
  revisions(postId: string, pageToken?: string): Promise<Page<Revision>>;
  diff(postId: string, from: number, to: number): Promise<readonly DiffLine[]>;
  restoreRevision(postId: string, revision: number, etag: string): Promise<PostView>;
  search(query: SearchQuery): Promise<Page<PostView>>;

  // notifications
  inbox(unreadOnly: boolean, pageToken?: string): Promise<Page<Notification>>;
  unreadCount(): Promise<number>;
  markRead(notificationIds: readonly string[]): Promise<void>;
  markAllRead(): Promise<void>;
  openNotificationStream(lastEventId: string | undefined, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  subscription(target: { spaceId?: string; postId?: string }): Promise<SubscriptionLevel>;
  setSubscription(target: { spaceId?: string; postId?: string }, level: SubscriptionLevel): Promise<void>;
  communityDefault(communityId: string): Promise<SubscriptionLevel>;
  setCommunityDefault(communityId: string, level: SubscriptionLevel): Promise<void>;
  digestFrequency(): Promise<DigestFrequency>;
  setDigestFrequency(frequency: DigestFrequency): Promise<void>;
}

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside ApiContext");
  return api;
}
